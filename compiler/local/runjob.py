"""Running runtime jobs locally: the process environment a job needs for a workspace environment.

The runtime is started as its own process (`python -m runtime ...`, the same entry point the compiled
pipeline steps call), so the compiler never imports Spark.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from compiler.deploy.aws import is_emulator
from compiler.errors import UsageError
from compiler.load.workspace import Workspace
from compiler.model import EnvironmentConfig
from runtime import contract

EMULATOR_CREDENTIAL = "ndrc-local"


LOCAL_MODEL_SERVER_URL = "http://127.0.0.1:8080"


def storage_root(workspace: Workspace, environment: EnvironmentConfig) -> Path | None:
    """The local directory standing in for S3 (`<root>/<bucket>/<key>`), for environments that have one."""
    configured = environment.settings.get("local_storage_root")
    return (workspace.root / configured).resolve() if configured else None


def job_environment(workspace: Workspace, environment: EnvironmentConfig) -> dict[str, str]:
    variables = dict(os.environ)
    variables[contract.PARAMETERS_TABLE_ENV] = environment.parameters_table
    variables[contract.ROUTING_TABLE_ENV] = environment.routing_table
    variables["AWS_DEFAULT_REGION"] = environment.region
    variables[contract.ENVIRONMENT_NAME_ENV] = environment.name
    if environment.endpoint_url:
        variables["AWS_ENDPOINT_URL"] = environment.endpoint_url
    if tracking := environment.settings.get("mlflow_tracking_uri"):
        variables["MLFLOW_TRACKING_URI"] = str(tracking)
    if is_emulator(environment):
        # The emulator accepts any credentials; never hand real ones to it.
        variables["AWS_ACCESS_KEY_ID"] = EMULATOR_CREDENTIAL
        variables["AWS_SECRET_ACCESS_KEY"] = EMULATOR_CREDENTIAL
        variables.pop("AWS_SESSION_TOKEN", None)
        variables.pop("AWS_PROFILE", None)
        # The emulator has no real endpoints: invoke_endpoint goes to `ndrc local serve` (its default address).
        variables.setdefault("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", LOCAL_MODEL_SERVER_URL)
    root = storage_root(workspace, environment)
    if root is not None:
        variables[contract.STORAGE_ROOT_ENV] = str(root)
    return variables


def run_module(module: str, arguments: Sequence[str], variables: dict[str, str], cwd: Path) -> int:
    """Run `python -m <module> <arguments>`; its output streams through; returns its exit code."""
    try:
        return subprocess.call([sys.executable, "-m", module, *arguments], env=variables, cwd=cwd)
    except OSError as exc:
        raise UsageError(f"cannot start {module}: {exc.strerror}") from exc
