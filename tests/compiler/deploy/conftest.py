"""Fixtures of the plan/publish tests: a sandboxed workspace (own tables) on the session's emulator."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# pytest runs with --import-mode=importlib: make this folder's helper module importable by its tests.
sys.path.insert(0, str(Path(__file__).resolve().parent))
from publish_helpers import Sandbox

from compiler.deploy.provision import provision


@pytest.fixture
def sandbox(aws_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    for name in ("ML_PROJECTS_PARAMETERS_TABLE_NAME", "JOB_SPEC_DDB_TABLE_NAME", "NDRC_ENV"):
        monkeypatch.delenv(name, raising=False)
    return Sandbox(tmp_path / "ws")


@pytest.fixture
def provisioned(sandbox: Sandbox) -> Sandbox:
    provision(sandbox.workspace, "local")
    return sandbox
