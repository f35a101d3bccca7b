"""Example-driven validation tests: tests/cases/{valid,invalid}/<case>/ are small workspaces.

An invalid case lists, in expected.txt, every diagnostic the run must report, in order, as the text reporter
prints it: `<path>:<line>:<column>: <severity> [<rule>] <message>`. A case with its own ndrc.yaml uses it
(else tests/cases/ndrc.yaml). After an intended change, regenerate and review the diff:

    NDRC_UPDATE_CASES=1 .venv/bin/python -m pytest tests/compiler/validation/test_cases.py
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from compiler.diagnostics import Diagnostic
from compiler.errors import WorkspaceInvalid
from compiler.rule_catalog import RULES, rule_of
from compiler.validation.reporters import render_text
from compiler.validation.validate import validate_workspace
from compiler.validation.workspace_config import load_workspace

CASES = Path(__file__).resolve().parents[2] / "cases"
REPO = Path(__file__).resolve().parents[3]
UPDATE = os.environ.get("NDRC_UPDATE_CASES") == "1"


def _cases(kind: str) -> list[Path]:
    return sorted(p for p in (CASES / kind).iterdir() if p.is_dir())


def _diagnostics(case: Path, tmp_path: Path) -> list[Diagnostic]:
    workspace_dir = tmp_path / "ws"
    shutil.copytree(case, workspace_dir, symlinks=True)
    if not (workspace_dir / "ndrc.yaml").exists():
        shutil.copy(CASES / "ndrc.yaml", workspace_dir / "ndrc.yaml")
    try:
        workspace = load_workspace(workspace_dir)
    except WorkspaceInvalid as invalid:
        return invalid.diagnostics
    return validate_workspace(workspace, workspace.environment("local")).diagnostics


def _lines(diagnostics: list[Diagnostic]) -> list[str]:
    return render_text(diagnostics).splitlines()[:-1]  # the last line is the summary


@pytest.mark.parametrize("case", _cases("invalid"), ids=lambda p: p.name)
def test_invalid_case_reports_exactly_the_expected_diagnostics(case: Path, tmp_path: Path) -> None:
    found = _lines(_diagnostics(case, tmp_path))
    expected_file = case / "expected.txt"
    if UPDATE:
        expected_file.write_text("\n".join(found) + "\n", encoding="utf-8")
    assert found == expected_file.read_text(encoding="utf-8").splitlines()
    assert found, "an invalid case reports at least one diagnostic"


@pytest.mark.parametrize("case", _cases("valid"), ids=lambda p: p.name)
def test_valid_case_has_no_diagnostics(case: Path, tmp_path: Path) -> None:
    assert _diagnostics(case, tmp_path) == []


def test_every_reported_rule_is_in_the_catalog_with_its_severity(tmp_path: Path) -> None:
    for index, case in enumerate(_cases("invalid")):
        for diagnostic in _diagnostics(case, tmp_path / str(index)):
            rule = rule_of(diagnostic.rule)
            assert rule is not None, f"{case.name}: {diagnostic.rule} is not in compiler/rule_catalog.py"
            assert diagnostic.severity == rule.severity, f"{case.name}: {diagnostic.rule}"


# Rules a case folder cannot hold, because git cannot store what triggers them: a FIFO, and a folder the walk
# cannot list (as root every file is readable). Each is proven by the named test instead.
NOT_STORABLE_IN_GIT = {
    "path.not-a-file": "tests/compiler/test_spec_tree.py::test_a_fifo_under_specs_is_an_error_not_a_hang",
    "io.read": "tests/compiler/test_spec_tree.py::test_a_folder_that_cannot_be_listed_is_a_located_io_read_error",
}


def test_rules_no_case_can_hold_are_proven_by_a_named_test() -> None:
    for test in NOT_STORABLE_IN_GIT.values():
        path, name = test.split("::")
        assert f"def {name}(" in (REPO / path).read_text(encoding="utf-8"), test


def test_every_rule_has_a_case() -> None:
    covered = set(NOT_STORABLE_IN_GIT)
    for case in _cases("invalid"):
        for line in (case / "expected.txt").read_text(encoding="utf-8").splitlines():
            rule_id = line.split("[", 1)[1].split("]", 1)[0]
            rule = rule_of(rule_id)
            covered.add(rule.id if rule is not None else rule_id)
    assert sorted(set(RULES) - covered) == []


def test_there_are_at_least_forty_invalid_cases() -> None:
    assert len(_cases("invalid")) >= 40
