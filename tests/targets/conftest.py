"""The sample workspace compiled once per environment, for the orchestration target tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from compiler.compilation.compile import CompileResult, compile_workspace
from compiler.validation.workspace_config import load_workspace

ENVIRONMENTS = ("local", "prod")


@pytest.fixture(scope="session")
def builds(repo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, CompileResult]:
    workspace = load_workspace(repo_root)
    out = tmp_path_factory.mktemp("targets-build")
    return {env: compile_workspace(workspace, env, out) for env in ENVIRONMENTS}


@pytest.fixture(scope="session")
def aws_schemas(repo_root: Path) -> Path:
    """AWS's published schemas, in the shared folder beside the clone (as in CI)."""
    folder = repo_root.parent / "shared" / "aws-schemas"
    if not folder.is_dir():
        pytest.fail(f"{folder} is missing: CI checks the shared folder out beside the clone")
    return folder
