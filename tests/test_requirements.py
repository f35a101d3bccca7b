"""A test that needs a missing part skips with the reason in a developer's run and fails with NDRC_REQUIRE_ALL=1.

Run as a separate pytest over a copy of tests/conftest.py in a folder with no `../shared` beside it, so the
`aws_schemas` part is really missing (as in a fresh clone).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent
NEEDS_SCHEMAS = """
import pytest


@pytest.mark.aws_schemas
def test_needs_the_schemas() -> None:
    raise AssertionError("must not run without ../shared/aws-schemas")


def test_needs_nothing() -> None:
    pass
"""


def _run(clone: Path, require_all: bool) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "NDRC_REQUIRE_ALL"}
    if require_all:
        env["NDRC_REQUIRE_ALL"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "-W", "ignore::UserWarning", "tests"],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_a_missing_part_skips_with_its_reason_unless_ci_requires_everything(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    (clone / "tests").mkdir(parents=True)
    shutil.copy(TESTS / "conftest.py", clone / "tests" / "conftest.py")
    (clone / "tests" / "test_needs.py").write_text(NEEDS_SCHEMAS, encoding="utf-8")
    assert not (tmp_path / "shared").exists()

    developer = _run(clone, require_all=False)
    assert developer.returncode == 0, developer.stdout + developer.stderr
    assert "1 passed, 1 skipped" in developer.stdout
    assert "AWS's published schemas are missing" in developer.stdout

    ci = _run(clone, require_all=True)
    assert ci.returncode == 1, ci.stdout + ci.stderr
    assert "NDRC_REQUIRE_ALL=1 and AWS's published schemas are missing" in ci.stdout
    assert "must not run" not in ci.stdout
