"""The linters the README asks of every change, run by the suite so CI enforces them: ruff (lint rules and
formatting, configured in pyproject.toml) and mypy over the packages it lists."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_tool(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *argv], cwd=ROOT, capture_output=True, text=True, check=False)


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(("ruff", "check", "--no-cache", "."), id="ruff-check"),
        pytest.param(("ruff", "format", "--check", "--no-cache", "."), id="ruff-format"),
        pytest.param(("mypy",), id="mypy"),
    ],
)
def test_the_tree_passes(argv: tuple[str, ...]) -> None:
    result = run_tool(*argv)
    assert result.returncode == 0, f"`{' '.join(argv)}` failed:\n{result.stdout}{result.stderr}"
