"""Compile-time SQL checks of machine_inventory_unload: located (file:line:column) and explained."""

from __future__ import annotations

import shutil
from pathlib import Path

from compiler.validation.validate import validate_workspace
from compiler.validation.workspace_config import load_workspace

CASES = Path(__file__).resolve().parents[2] / "cases"


def diagnostics(case: str, tmp_path: Path) -> list[str]:
    workspace_dir = tmp_path / "ws"
    shutil.copytree(CASES / "invalid" / case, workspace_dir)
    shutil.copy(CASES / "ndrc.yaml", workspace_dir / "ndrc.yaml")
    workspace = load_workspace(workspace_dir)
    result = validate_workspace(workspace, workspace.environment("local"))
    return [f"{d.path}:{d.line}:{d.column} {d.rule} {d.message}" for d in result.diagnostics if d.is_error]


FILE = "specs/ndr-prod/machine_inventory_unload.yaml"


def test_a_non_select_is_a_located_error(tmp_path: Path) -> None:
    assert diagnostics("inventory-sql-not-select", tmp_path) == [
        f"{FILE}:10:10 inventory.sql query.sql must be a SELECT statement (found DELETE)"
    ]


def test_two_statements_are_a_located_error(tmp_path: Path) -> None:
    assert diagnostics("inventory-sql-two-statements", tmp_path) == [
        f"{FILE}:10:10 inventory.sql query.sql must be exactly one SELECT statement (found 2 statements)"
    ]


def test_filters_must_be_one_predicate_each(tmp_path: Path) -> None:
    found = diagnostics("inventory-filter-not-predicate", tmp_path)
    assert found[0] == (
        f"{FILE}:15:9 inventory.filter query.additional_filters[1] must be one SQL predicate such as "
        "\"status = 'active'\" (found EQ, DROP)"
    )
    assert found[1].startswith(f"{FILE}:16:9 inventory.filter query.additional_filters[2] does not parse: ")
    assert found[1].endswith("(at SQL line 1, column 22)") and "<class" not in found[1]
    assert len(found) == 2


def test_columns_the_spec_names_must_be_returned_by_the_user_select(tmp_path: Path) -> None:
    assert diagnostics("inventory-sql-missing-columns", tmp_path) == [
        f"{FILE}:11:18 inventory.columns column 'hostname' is not returned by query.sql (it returns: ip_address, host)",
        f"{FILE}:14:36 inventory.columns column 'site' is not returned by query.sql (it returns: ip_address, host)",
    ]
