"""Fixtures of the pipeline_model_deploy tests: the SageMaker client on the emulator, fresh names."""

from __future__ import annotations

import uuid
from typing import Any

import boto3
import pytest


@pytest.fixture
def sm(aws_env: str) -> Any:
    return boto3.client("sagemaker")


@pytest.fixture
def names() -> tuple[str, str]:
    tag = uuid.uuid4().hex[:8]
    return f"ndr-ep-{tag}", f"ndr-group-{tag}"
