"""The process environment `ndrc run` gives a runtime job: the MLflow tracking URI of the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from compiler.local.runjob import job_environment
from compiler.validation.workspace_config import load_workspace


def test_the_environment_tracking_uri_reaches_the_job(repo_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    workspace = load_workspace(repo_root)
    variables = job_environment(workspace, workspace.environment("prod"))
    assert variables["MLFLOW_TRACKING_URI"] == "https://mlflow.prod.ndr.example.com"
    assert "MLFLOW_TRACKING_URI" not in job_environment(workspace, workspace.environment("local"))
