"""Shared fixtures: the repository root and a moto server over HTTP on 127.0.0.1."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from compiler.emulator import free_port, wait_until_ready

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def emulator_endpoint() -> Iterator[str]:
    """A real moto server process (Step Functions execution + JSONata), one per test session."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [sys.executable, "-m", "compiler.emulator", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=REPO_ROOT,
    )
    try:
        if not wait_until_ready(endpoint):
            raise RuntimeError("moto server did not start")
        yield endpoint
    finally:
        process.terminate()
        process.wait(timeout=10)


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
