"""Shared fixtures: the repository root and a moto server over HTTP on 127.0.0.1."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from compiler.local.emulator import running_emulator

REPO_ROOT = Path(__file__).resolve().parent.parent


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
