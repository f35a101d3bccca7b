"""Example-driven validation tests: tests/cases/{valid,invalid}/<case>/ are small workspaces.

An invalid case lists its expected diagnostics in expected.txt, one `<path>:<line> <severity> <rule>` a line;
the run must report exactly those (besides `project.missing-parameters`, checked only where listed).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from compiler.validation.validate import validate_workspace
from compiler.validation.workspace_config import load_workspace

CASES = Path(__file__).resolve().parents[2] / "cases"
OPTIONAL_RULES = {"project.missing-parameters"}


def _cases(kind: str) -> list[Path]:
    return sorted(p for p in (CASES / kind).iterdir() if p.is_dir())


def _run(case: Path, tmp_path: Path) -> set[str]:
    workspace_dir = tmp_path / "ws"
    shutil.copytree(case, workspace_dir)
    shutil.copy(CASES / "ndrc.yaml", workspace_dir / "ndrc.yaml")
    workspace = load_workspace(workspace_dir)
    result = validate_workspace(workspace, workspace.environment("local"))
    return {f"{d.path}:{d.line} {d.severity.value} {d.rule}" for d in result.diagnostics}


def _expected(case: Path) -> set[str]:
    lines = (case / "expected.txt").read_text(encoding="utf-8").splitlines()
    return {line.strip() for line in lines if line.strip() and not line.startswith("#")}


@pytest.mark.parametrize("case", _cases("invalid"), ids=lambda p: p.name)
def test_invalid_case_reports_exactly_the_expected_diagnostics(case: Path, tmp_path: Path) -> None:
    expected = _expected(case)
    listed_rules = {line.split()[-1] for line in expected}
    found = {d for d in _run(case, tmp_path) if d.split()[-1] not in OPTIONAL_RULES - listed_rules}
    assert found == expected
    assert any(" error " in line or " warning " in line for line in expected)


@pytest.mark.parametrize("case", _cases("valid"), ids=lambda p: p.name)
def test_valid_case_has_no_diagnostics(case: Path, tmp_path: Path) -> None:
    assert _run(case, tmp_path) == set()


def test_there_are_at_least_forty_invalid_cases() -> None:
    assert len(_cases("invalid")) >= 40
