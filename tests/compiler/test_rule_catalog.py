"""The rule catalog is the one list of rules: code references it, the README's table is generated from it."""

from __future__ import annotations

import re
from pathlib import Path

from compiler.rule_catalog import RULES, markdown_table

REPO = Path(__file__).resolve().parents[2]
FAMILIES = sorted({rule_id.split(".")[0] for rule_id in RULES})
LITERAL_ID = re.compile(r"""["']((?:{})\.[a-z][a-z-]*)["']""".format("|".join(FAMILIES)))
FILE_NAMES = {"routing.yaml", "ndrc.yaml", "yaml.schemas"}  # file names and the editor setting, not rule ids


def test_readme_rule_table_is_generated_from_the_catalog() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    begin = readme.index("| rule | severity | what it checks |")
    end = readme.index("<!-- end of the generated rule table -->")
    assert readme[begin:end] == markdown_table(), "regenerate it: python -m compiler.rule_catalog"


def test_code_names_rules_through_the_catalog() -> None:
    offenders = []
    for path in sorted((REPO / "compiler").rglob("*.py")):
        if path.name == "rule_catalog.py":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if any(found not in FILE_NAMES for found in LITERAL_ID.findall(line)):
                offenders.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert offenders == []


def test_every_rule_has_a_summary_and_a_well_formed_id() -> None:
    for rule_id, rule in RULES.items():
        assert re.fullmatch(r"[a-z]+\.([a-z][a-z-]*)?", rule_id), rule_id
        assert rule.summary and rule.is_family == rule_id.endswith("."), rule_id
