"""Discovering spec files and turning one file into a rendered, schema-checked job item or routes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compiler.diagnostics import Diagnostic, Location, error, warning
from compiler.model import JOB_NAMES, EnvironmentConfig, JobItem, Route
from compiler.schemas import SchemaCatalog
from compiler.suggest import closest
from compiler.symlinks import scan_specs
from compiler.templating import render_values
from compiler.yamlload import LoadedYaml, load_yaml

ROUTING_FILE = "routing.yaml"
ITEM_ATTRIBUTES = ("feature_spec_version", "owner", "tags", "pipeline_defaults", "feature_store")
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
VERSION_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
STRONGLY_TYPED_IDENTITY = "delta_builder"


@dataclass(frozen=True)
class SpecPath:
    """What a spec file's path says: `specs/<project>/<job>#<version>.yaml` or `.../routing.yaml`."""

    relative: str
    project_name: str
    job_name: str
    feature_spec_version: str | None

    @property
    def is_routing(self) -> bool:
        return self.job_name == "routing" and self.feature_spec_version is None


@dataclass
class LoadedSpec:
    path: SpecPath
    document: LoadedYaml


def discover(specs_dir: Path, workspace_root: Path) -> list[tuple[Path, str]]:
    """Every regular file under specs/ (hidden ones aside) with its workspace-relative posix path, sorted;
    what is refused (see `compiler.symlinks`) is reported by `scan_specs`."""
    return scan_specs(specs_dir, workspace_root).files


def parse_spec_path(relative: str) -> tuple[SpecPath | None, list[Diagnostic]]:
    """Identity from the path; `relative` is workspace-relative with forward slashes."""
    location = Location(relative, 1, 1)
    parts = relative.split("/")
    if not relative.endswith(".yaml"):
        hint = " (rename it to .yaml)" if relative.endswith(".yml") else ""
        return None, [error(location, "path.layout", f"only .yaml files belong under specs/{hint}")]
    if len(parts) != 3:
        return None, [error(location, "path.layout", "spec files live at specs/<project>/<job_name>#<version>.yaml")]
    project, filename = parts[1], parts[2].removesuffix(".yaml")
    problems = []
    if not NAME_PATTERN.fullmatch(project):
        problems.append(error(location, "path.project", f"{project!r} is not a valid project name"))
    job_name, _, version = filename.partition("#")
    if "#" in version:
        problems.append(error(location, "path.layout", "a spec file name holds at most one '#'"))
    if version and not VERSION_PATTERN.fullmatch(version):
        problems.append(
            error(location, "path.version", f"{version!r} is not a valid feature_spec_version (letters, digits, ._-)")
        )
    if "#" in filename and not version:
        problems.append(error(location, "path.version", "empty feature_spec_version after '#'"))
    if problems:
        return None, problems
    return SpecPath(relative, project, job_name, version or None), []


def read_spec(path: Path, relative: str) -> tuple[LoadedSpec | None, list[Diagnostic]]:
    spec_path, problems = parse_spec_path(relative)
    if spec_path is None:
        return None, problems
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return None, [error(Location(relative), "io.read", f"cannot read file: {exc.strerror}")]
    document, problems = load_yaml(relative, raw)
    if document is None:
        return None, problems
    if not isinstance(document.data, dict):
        found = "an empty file" if document.data is None else f"a {type(document.data).__name__}"
        what = "a routing file is a mapping with `routes:`" if spec_path.is_routing else "a spec file is a mapping"
        problems.append(error(document.locate(()), "spec.shape", f"{what}, found {found}"))
        return None, problems
    return LoadedSpec(spec_path, document), problems


def template_context(environment: EnvironmentConfig, spec_path: SpecPath) -> dict[str, Any]:
    return {
        "env": {**environment.settings, "name": environment.name},
        "project_name": spec_path.project_name,
        "job_name": spec_path.job_name,
        "feature_spec_version": spec_path.feature_spec_version,
    }


def build_job_item(
    loaded: LoadedSpec, environment: EnvironmentConfig, catalog: SchemaCatalog
) -> tuple[JobItem | None, list[Diagnostic]]:
    spec_path, document = loaded.path, loaded.document
    problems = render_values(document, template_context(environment, spec_path))
    body: dict[str, Any] = document.data
    if spec_path.job_name not in JOB_NAMES:
        suggestion = closest(spec_path.job_name, JOB_NAMES)
        hint = f"; did you mean {suggestion!r}?" if suggestion else f" (known: {', '.join(JOB_NAMES)})"
        problems.append(
            error(Location(spec_path.relative, 1, 1), "job.unknown", f"unknown job name {spec_path.job_name!r}{hint}")
        )
        return None, problems
    problems.extend(catalog.validate("item", document))
    problems.extend(_identity_problems(spec_path, document))
    payload_key = _payload_key(spec_path, document, problems)
    if payload_key is None or not isinstance(body.get(payload_key), dict):
        return None, problems
    version = spec_path.feature_spec_version or body.get("feature_spec_version")
    payload: dict[str, Any] = body[payload_key]
    if spec_path.job_name == STRONGLY_TYPED_IDENTITY:
        problems.extend(_delta_identity(spec_path, document, payload, version))
    schema_name = f"jobs/{spec_path.job_name}"
    if catalog.has(schema_name):
        problems.extend(catalog.validate(schema_name, document, payload, (payload_key,)))
    attributes = {key: body[key] for key in ITEM_ATTRIBUTES if key in body}
    problems.extend(_ignored_keys(document))
    if "updated_at" in body:
        problems.append(
            warning(
                document.locate(("updated_at",), key=True),
                "envelope.server-managed",
                "updated_at is set by `ndrc publish`; the value in the file is ignored",
            )
        )
    item = JobItem(
        project_name=spec_path.project_name,
        job_name=spec_path.job_name,
        feature_spec_version=spec_path.feature_spec_version,
        spec=payload,
        attributes=attributes,
        source=spec_path.relative,
    )
    return item, problems


KNOWN_TOP_LEVEL = frozenset({*ITEM_ATTRIBUTES, "project_name", "job_name", "spec", "parameters", "updated_at"})


def _ignored_keys(document: LoadedYaml) -> list[Diagnostic]:
    """Top-level keys that are neither item attributes nor `x-` extensions (anchor holders) are dropped."""
    return [
        warning(
            document.locate((key,), key=True),
            "envelope.ignored-key",
            f"{key!r} is not an item attribute and is not compiled; move it under `spec` or prefix it with x-",
        )
        for key in document.data
        if key not in KNOWN_TOP_LEVEL and not str(key).startswith("x-") and not closest(str(key), KNOWN_TOP_LEVEL)
    ]


def without_cascades(problems: list[Diagnostic]) -> list[Diagnostic]:
    """Drop schema findings on a value already reported by a more specific rule (broken YAML or template,
    identity, secrets): one problem, one diagnostic."""
    broken = {(p.line, p.column) for p in problems if p.is_error and not p.rule.startswith("schema.")}
    return [p for p in problems if not (p.rule.startswith("schema.") and (p.line, p.column) in broken)]


def _payload_key(spec_path: SpecPath, document: LoadedYaml, problems: list[Diagnostic]) -> str | None:
    body = document.data
    if "parameters" in body and spec_path.job_name != "project_parameters":
        problems.append(
            error(
                document.locate(("parameters",), key=True),
                "envelope.parameters",
                "only project_parameters may hold its payload under `parameters`; use `spec`",
            )
        )
        return None
    if "parameters" in body and "spec" in body:
        problems.append(
            error(
                document.locate(("parameters",), key=True),
                "envelope.parameters",
                "write the payload under `spec` or `parameters`, not both",
            )
        )
        return None
    if "spec" in body:
        return "spec"
    if "parameters" in body:
        return "parameters"
    return None  # the item schema reports the missing `spec`


def _identity_problems(spec_path: SpecPath, document: LoadedYaml) -> list[Diagnostic]:
    body = document.data
    expected = {
        "project_name": spec_path.project_name,
        "job_name": spec_path.job_name,
    }
    if spec_path.feature_spec_version:
        expected["feature_spec_version"] = spec_path.feature_spec_version
    problems = []
    for key, value in expected.items():
        written = body.get(key)
        allowed = {value, f"{spec_path.job_name}#{spec_path.feature_spec_version}"} if key == "job_name" else {value}
        if written is not None and written not in allowed:
            problems.append(
                error(
                    document.locate((key,)),
                    "identity.mismatch",
                    f"{key} is {written!r} but the file path {spec_path.relative} says {value!r}",
                )
            )
    return problems


def _delta_identity(
    spec_path: SpecPath, document: LoadedYaml, payload: dict[str, Any], version: str | None
) -> list[Diagnostic]:
    """The strongly-typed JobSpec reads its identity from the payload: fill it in, reject contradictions."""
    prefix = "spec" if "spec" in document.data else "parameters"
    if not version:
        return [
            error(
                document.locate(()),
                "identity.delta-spec",
                "an unversioned delta_builder file must state feature_spec_version (the JobSpec needs it)",
            )
        ]
    expected = {
        "project_name": spec_path.project_name,
        "job_name": spec_path.job_name,
        "feature_spec_version": version,
    }
    problems = []
    for key, value in expected.items():
        if key not in payload:
            payload[key] = value
        elif payload[key] != value:
            problems.append(
                error(
                    document.locate((prefix, key)),
                    "identity.delta-spec",
                    f"spec.{key} is {payload[key]!r} but must be {value!r} (from the file path)",
                )
            )
    return problems


def build_routes(
    loaded: LoadedSpec, environment: EnvironmentConfig, catalog: SchemaCatalog
) -> tuple[list[Route], list[Diagnostic]]:
    spec_path, document = loaded.path, loaded.document
    problems = render_values(document, template_context(environment, spec_path))
    problems.extend(catalog.validate("routing", document))
    if any(p.is_error for p in problems):
        return [], problems
    body = document.data
    if body.get("project_name") not in (None, spec_path.project_name):
        problems.append(
            error(
                document.locate(("project_name",)),
                "identity.mismatch",
                f"project_name is {body['project_name']!r} but the file path says {spec_path.project_name!r}",
            )
        )
    routes = []
    for index, route in enumerate(body.get("routes") or []):
        where = document.locate(("routes", index))
        routes.append(
            Route(
                org1=route["org1"],
                org2=route["org2"],
                project_name=spec_path.project_name,
                ingestion_prefix=route["ingestion_prefix"],
                feature_spec_version=route.get("feature_spec_version"),
                enabled=route.get("enabled", True),
                source=spec_path.relative,
                line=where.line,
                column=where.column,
            )
        )
    return routes, problems
