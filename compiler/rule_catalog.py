"""Every validation rule: its id, severity and what it checks, in one place.

Modules reference rules by these constants (never by a literal id); the README's rule table is generated
from `RULES` (`python -m compiler.rule_catalog`) and a test fails when they differ. A family (`schema.`,
`wiring.`) stands for the ids its prefix starts; `family_rule()` builds one of them.
"""

from __future__ import annotations

from dataclasses import dataclass

from compiler.diagnostics import Severity
from runtime.contract import WINDOW_CRON_EXPRESSION, WINDOW_FLOOR_MINUTES

ERROR, WARNING = Severity.ERROR, Severity.WARNING


@dataclass(frozen=True)
class Rule:
    id: str  # a family's id is its prefix, ending in "."
    severity: Severity
    summary: str
    member: str = ""  # what follows a family's prefix, e.g. "keyword"

    @property
    def is_family(self) -> bool:
        return bool(self.member)

    @property
    def display(self) -> str:
        return f"{self.id}<{self.member}>" if self.member else self.id


RULES: dict[str, Rule] = {}


def _rule(rule_id: str, severity: Severity, summary: str, member: str = "") -> str:
    assert rule_id not in RULES, f"rule {rule_id} is listed twice"
    RULES[rule_id] = Rule(rule_id, severity, summary, member)
    return rule_id


def family_rule(family: str, member: str) -> str:
    """One id of a family: `family_rule(SCHEMA, "required")` is `schema.required`."""
    assert RULES[family].is_family, family
    return f"{family}{member}"


def rule_of(rule_id: str) -> Rule | None:
    """The catalog entry of an id, a family member included; None for an id the catalog does not list."""
    if rule_id in RULES:
        return RULES[rule_id]
    family = rule_id[: rule_id.index(".") + 1] if "." in rule_id else ""
    found = RULES.get(family)
    return found if found is not None and found.is_family else None


# YAML: the one loader (compiler/load/yamlload.py)
YAML_SYNTAX = _rule("yaml.syntax", ERROR, "YAML is well-formed")
YAML_MULTI_DOCUMENT = _rule("yaml.multi-document", ERROR, "a file holds one YAML document")
YAML_TAG = _rule("yaml.tag", ERROR, "standard YAML tags only (no `!!python/...` or custom tags)")
YAML_KEY = _rule("yaml.key", ERROR, "mapping keys are scalars")
YAML_MERGE = _rule("yaml.merge", ERROR, "a merge key (`<<`) refers to a mapping")
YAML_DUPLICATE_KEY = _rule("yaml.duplicate-key", ERROR, "a key appears once in a mapping (PyYAML would keep the last)")
YAML_TAB = _rule("yaml.tab", ERROR, "no tabs in indentation")
YAML_ENCODING = _rule("yaml.encoding", ERROR, "UTF-8 without NUL bytes")
YAML_TOO_LARGE = _rule("yaml.too-large", ERROR, "files are at most 1 MiB")
YAML_ALIAS_BOMB = _rule("yaml.alias-bomb", ERROR, "aliases expand to at most 100,000 nodes")
YAML_NUMBER = _rule("yaml.number", ERROR, "no `.nan` / `.inf` (DynamoDB cannot store them)")
YAML_TOO_DEEP = _rule("yaml.too-deep", ERROR, "values nest at most a bounded number of levels deep")
NUMBER_DYNAMODB = _rule(
    "number.dynamodb", ERROR, "numbers fit DynamoDB: at most 38 significant digits, magnitude 1e-130 to below 1e126"
)
YAML_AMBIGUOUS_BOOL = _rule("yaml.ambiguous-bool", WARNING, "`yes`/`no`/`on`/`off` are read as strings")
IO_READ = _rule("io.read", ERROR, "a spec file can be read")

# Templates in values (compiler/load/templating.py)
JINJA_SYNTAX = _rule("jinja.syntax", ERROR, "a template in a value parses")
JINJA_UNDEFINED = _rule("jinja.undefined", ERROR, "a template uses only defined names (`env`, `project_name`, ...)")
JINJA_UNSAFE = _rule("jinja.unsafe", ERROR, "a template stays inside the sandbox")
JINJA_RENDER = _rule("jinja.render", ERROR, "a template renders without failing")

# Files and their identity (compiler/load/specs.py, compiler/validation/items.py)
PATH_LAYOUT = _rule("path.layout", ERROR, "files live at `specs/<project>/<job>#<version>.yaml`")
PATH_PROJECT = _rule("path.project", ERROR, "the project folder is a valid name")
PATH_VERSION = _rule("path.version", ERROR, "the `#<version>` of a file name is a valid feature_spec_version")
PATH_SYMLINK = _rule("path.symlink", ERROR, "links under specs/ stay inside the workspace, resolve and do not loop")
PATH_NOT_A_FILE = _rule(
    "path.not-a-file", ERROR, "only regular files and folders under specs/ (no FIFOs, sockets, devices)"
)
JOB_UNKNOWN = _rule("job.unknown", ERROR, 'the job name is one of the known jobs (with a "did you mean")')
SPEC_SHAPE = _rule("spec.shape", ERROR, "a spec file is a mapping")
ENVELOPE_PARAMETERS = _rule(
    "envelope.parameters", ERROR, "the payload is under `spec` (or `parameters`, for project_parameters only)"
)
ENVELOPE_IGNORED_KEY = _rule("envelope.ignored-key", WARNING, "a top-level key that is not compiled")
ENVELOPE_SERVER_MANAGED = _rule("envelope.server-managed", WARNING, "`updated_at` is set by publish, not by the file")
IDENTITY_MISMATCH = _rule(
    "identity.mismatch",
    ERROR,
    "`project_name` / `job_name` / `feature_spec_version` / `defaults.ProjectName` / "
    "`defaults.FeatureSpecVersion` agree with the path",
)
IDENTITY_DELTA_SPEC = _rule(
    "identity.delta-spec",
    ERROR,
    "the delta_builder payload identity agrees with the path; unversioned delta files state their version",
)

# JSON Schemas (compiler/validation/schemas.py)
SCHEMA = _rule(
    "schema.",
    ERROR,
    "the JSON Schema of the item envelope, the job payload, routing and `ndrc.yaml`, one id per "
    "keyword (`required`, `type`, `pattern`, `enum`, `const`, `minItems`, ...)",
    member="keyword",
)
SCHEMA_EITHER = _rule("schema.either", ERROR, "exactly one of the alternatives a schema offers is given")
SCHEMA_UNKNOWN_KEY = _rule(
    "schema.unknown-key", WARNING, "an unknown key one edit away from a known one (\"did you mean 's3_prefix'?\")"
)

# Semantic rules (compiler/validation/rules.py, wiring.py, validate.py)
WINDOW_CRON = _rule(
    "window.cron", ERROR, f"`WindowCronExpression` is the batch window policy's `{WINDOW_CRON_EXPRESSION}`"
)
WINDOW_FLOOR = _rule("window.floor-minutes", ERROR, f"`WindowFloorMinutes` is `{list(WINDOW_FLOOR_MINUTES)}`")
ROUTING_DUPLICATE_ORG_KEY = _rule("routing.duplicate-org-key", ERROR, "an org_key appears once in a project")
ROUTING_ORG_KEY_CONFLICT = _rule("routing.org-key-conflict", ERROR, "an org_key belongs to one project")
ROUTING_UNKNOWN_VERSION = _rule(
    "routing.unknown-version", ERROR, "a route's feature_spec_version has a `project_parameters#<version>`"
)
ROUTING_PREFIX = _rule("routing.prefix", WARNING, "`ingestion_prefix` ends with `/<org1>/<org2>`")
SECRET_ARN = _rule("secret.arn", ERROR, "`secret_arn` is a Secrets Manager ARN")
SECRET_PLAINTEXT = _rule(
    "secret.plaintext",
    ERROR,
    "no literal values under password/token/secret-like keys, no AWS access key ids "
    "anywhere (the value is never printed)",
)
OPERATOR_UNKNOWN = _rule("operator.unknown", ERROR, "delta_builder operators exist in the runtime's registry")
OPERATOR_PARAMS = _rule("operator.params", ERROR, "an operator's params match its schema in the runtime's registry")

# SQL in specs, parsed with the runtime's own parser (compiler/validation/rules_sql.py)
INVENTORY_SQL = _rule("inventory.sql", ERROR, "machine_inventory_unload query.sql is exactly one read-only SELECT")
INVENTORY_FILTER = _rule("inventory.filter", ERROR, "each inventory filter is one SQL predicate")
INVENTORY_COLUMNS = _rule(
    "inventory.columns", ERROR, "the ip, name and partition columns are returned by the user's query.sql"
)
ITEM_TOO_LARGE = _rule("item.too-large", ERROR, "the compiled item fits DynamoDB's 400 KB")
WIRING = _rule(
    "wiring.",
    WARNING,
    "within a project and version, readers read where producers write (FG-A ← delta, "
    "FG-B/FG-C ← FG-A, FG-C ← FG-B, inference/training ← FG-A/FG-C, FG-B ← pair counts)",
    member="consumer",
)
PROJECT_MISSING_PARAMETERS = _rule(
    "project.missing-parameters", WARNING, "a version used by a job has a `project_parameters#<version>`"
)
WORKSPACE_EMPTY = _rule("workspace.empty", ERROR, "the workspace has specs")
WORKSPACE_SHAPE = _rule("workspace.shape", ERROR, "`ndrc.yaml` is a mapping")


def markdown_table() -> str:
    """The README's rule table."""
    lines = ["| rule | severity | what it checks |", "| --- | --- | --- |"]
    for rule in RULES.values():
        lines.append(f"| `{rule.display}` | {rule.severity.value} | {rule.summary} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown_table(), end="")
