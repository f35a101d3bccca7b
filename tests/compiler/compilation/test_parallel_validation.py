"""Large workspaces are validated in worker processes: same diagnostics and items as one process."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from compiler.compilation import compile as compilation
from compiler.validation.validate import validate_workspace
from compiler.validation.workspace_config import load_workspace

REPO = Path(__file__).resolve().parents[3]
CASES = REPO / "tests" / "cases"


class RecordingPool(compilation.ProcessPoolExecutor):
    started = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        RecordingPool.started += 1
        super().__init__(*args, **kwargs)


def test_parallel_path_reports_what_the_sequential_path_does(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "ws"
    shutil.copytree(REPO / "specs", root / "specs")
    shutil.copy(REPO / "ndrc.yaml", root / "ndrc.yaml")
    for case in ("yaml-duplicate-key", "jinja-undefined", "wiring-fg-c-reads-elsewhere"):  # problems to locate
        for source in (CASES / "invalid" / case / "specs").rglob("*.yaml"):
            relative = source.relative_to(CASES / "invalid" / case / "specs")
            target = root / "specs" / f"{case}-{relative.parts[0]}" / relative.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, target)
    workspace = load_workspace(root)
    sequential = validate_workspace(workspace, workspace.environment("local"))
    assert any(d.is_error for d in sequential.diagnostics) and len(sequential.compiled.items) > 10

    monkeypatch.setenv("NDRC_NO_CACHE", "1")
    monkeypatch.setattr(compilation, "PARALLEL_THRESHOLD", 2)
    monkeypatch.setattr(compilation.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(compilation, "ProcessPoolExecutor", RecordingPool)
    parallel = compilation.validate_with_cache(workspace, "local")

    assert RecordingPool.started == 1
    assert parallel.diagnostics == sequential.diagnostics
    assert parallel.compiled == sequential.compiled
