from __future__ import annotations

import shutil
from pathlib import Path

import pytest

CASES = Path(__file__).resolve().parent.parent / "cases"


def make_workspace(tmp_path: Path, case: str = "valid/minimal") -> Path:
    root = tmp_path / "ws"
    shutil.copytree(CASES / case, root)
    shutil.copy(CASES / "ndrc.yaml", root / "ndrc.yaml")
    return root


@pytest.fixture
def workspace_dir(tmp_path: Path) -> Path:
    return make_workspace(tmp_path)
