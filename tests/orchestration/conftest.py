"""The sample workspace compiled for `local` and deployed onto one moto server per test session."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# pytest runs with --import-mode=importlib: make this folder's helper module importable by its tests.
sys.path.insert(0, str(Path(__file__).resolve().parent))
from orchestration_harness import Deployment, deploy, moto_server

from compiler.compilation.compile import CompileResult, compile_workspace
from compiler.model import CompiledWorkspace
from compiler.validation.workspace_config import load_workspace


@pytest.fixture(scope="session")
def compile_result(repo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> CompileResult:
    return compile_workspace(load_workspace(repo_root), "local", tmp_path_factory.mktemp("build"))


@pytest.fixture(scope="session")
def compiled(compile_result: CompileResult) -> CompiledWorkspace:
    return compile_result.compiled


@pytest.fixture(scope="session")
def deployment(repo_root: Path, compile_result: CompileResult) -> Iterator[Deployment]:
    environment = compile_result.compiled.environment
    tables = {
        "parameters": environment.parameters_table,
        "routing": environment.routing_table,
        "lock": environment.lock_table,
    }
    with moto_server(repo_root) as endpoint:
        yield deploy(endpoint, compile_result.out_dir, tables, str(environment.get("roles.state_machine")))
