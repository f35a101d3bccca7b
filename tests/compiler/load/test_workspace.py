from __future__ import annotations

from pathlib import Path

import pytest

from compiler.errors import UsageError
from compiler.load.workspace import find_workspace_root
from compiler.validation.workspace_config import load_workspace


def test_default_environment_is_local(workspace_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NDRC_ENV", raising=False)
    assert load_workspace(workspace_dir).environment().name == "local"


def test_ndrc_env_selects_the_environment(workspace_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NDRC_ENV", "dev")
    assert load_workspace(workspace_dir).environment().region == "eu-west-1"


@pytest.mark.parametrize("variable", ["ML_PROJECTS_PARAMETERS_TABLE_NAME", "JOB_SPEC_DDB_TABLE_NAME"])
def test_table_name_variables_override_the_config(
    workspace_dir: Path, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.delenv("ML_PROJECTS_PARAMETERS_TABLE_NAME", raising=False)
    monkeypatch.setenv(variable, "custom_params")
    assert load_workspace(workspace_dir).environment("local").parameters_table == "custom_params"


def test_new_name_wins_over_legacy(workspace_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ML_PROJECTS_PARAMETERS_TABLE_NAME", "new")
    monkeypatch.setenv("JOB_SPEC_DDB_TABLE_NAME", "old")
    assert load_workspace(workspace_dir).environment("local").parameters_table == "new"


def test_endpoint_variable_overrides(workspace_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9999")
    assert load_workspace(workspace_dir).environment("dev").endpoint_url == "http://127.0.0.1:9999"


def test_workspace_is_found_from_a_subfolder(workspace_dir: Path) -> None:
    assert find_workspace_root(workspace_dir / "specs" / "p1") == workspace_dir.resolve()


def test_missing_workspace_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        find_workspace_root(tmp_path)
