"""pipeline_model_publish against the moto server over HTTP (real boto3 SageMaker client)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import boto3
import pytest

from runtime.entrypoint import main
from runtime.errors import RuntimeJobError
from runtime.jobs.pipeline_model_publish.publish import publish_model
from runtime.jobs.pipeline_model_publish.spec import PublishSpec
from runtime.storage import LocalStorage
from tests.runtime.conftest import job_argv, put_item
from tests.runtime.modelops.artifact_fixture import write_artifact

ARTIFACTS = "s3://models/ndr-prod/v1/if_training/"
IMAGES = "s3://models/ndr-prod/v1/if_training/model_images/"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/ndr-model-server:1"


def spec_payload(group: str, **extra: Any) -> dict[str, Any]:
    return {
        "artifacts_s3_prefix": ARTIFACTS,
        "model_package_group_name": group,
        "approval_status": "Approved",
        "inference_image_uri": IMAGE,
        "model_image_prefix": IMAGES,
        "inference_instance_types": ["ml.c5.xlarge"],
        **extra,
    }


@pytest.fixture
def sm(aws_env: str) -> Any:
    return boto3.client("sagemaker")


@pytest.fixture
def group() -> str:
    return f"ndr-test-{uuid.uuid4().hex[:8]}"


def test_publish_registers_the_artifact_with_metrics_and_approval(sm: Any, group: str, storage: LocalStorage) -> None:
    uri = write_artifact(storage, ARTIFACTS, "ndr-prod", "if-1")
    spec = PublishSpec.from_payload(spec_payload(group), "test")
    summary = publish_model(spec, "ndr-prod", "if-1", storage, sm)
    assert summary["created"] and summary["created_group"]
    package = sm.describe_model_package(ModelPackageName=summary["model_package_arn"])
    assert package["ModelPackageGroupName"] == group and package["ModelApprovalStatus"] == "Approved"
    container = package["InferenceSpecification"]["Containers"][0]
    assert container["ModelDataUrl"] == uri and container["Image"] == IMAGE
    assert package["InferenceSpecification"]["SupportedContentTypes"] == ["text/csv", "application/json"]
    assert package["CustomerMetadataProperties"]["ndrc_model_version"] == "if-1"
    assert package["CustomerMetadataProperties"]["ndrc_artifact_sha256"] == summary["artifact_sha256"]
    metrics_uri = package["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"]
    assert json.loads(storage.read_bytes(metrics_uri))["metrics"] == {"score_separation": 0.8, "train_rows": 1000}
    assert storage.read_bytes(summary["frozen_copy_uri"]) == storage.read_bytes(uri)


def test_publish_is_idempotent_and_refuses_a_changed_artifact(sm: Any, group: str, storage: LocalStorage) -> None:
    write_artifact(storage, ARTIFACTS, "ndr-prod", "if-1")
    spec = PublishSpec.from_payload(spec_payload(group), "test")
    first = publish_model(spec, "ndr-prod", "if-1", storage, sm)
    again = publish_model(spec, "ndr-prod", "if-1", storage, sm)
    assert not again["created"] and again["model_package_arn"] == first["model_package_arn"]
    assert len(sm.list_model_packages(ModelPackageGroupName=group)["ModelPackageSummaryList"]) == 1
    write_artifact(storage, ARTIFACTS, "ndr-prod", "if-1", threshold=0.9)  # same label, new bytes
    with pytest.raises(RuntimeJobError, match=r"already registered .* publish a new version label"):
        publish_model(spec, "ndr-prod", "if-1", storage, sm)


def test_invalid_group_name_is_refused_before_calling_sagemaker(storage: LocalStorage) -> None:
    spec = PublishSpec.from_payload(spec_payload("bad_name!"), "test")
    with pytest.raises(RuntimeJobError, match="not a valid SageMaker name"):
        publish_model(spec, "ndr-prod", "if-1", storage, sm=None)


def test_publish_job_takes_the_version_from_if_training(
    sm: Any, group: str, ddb: Any, params_table: str, storage: LocalStorage, capsys: pytest.CaptureFixture[str]
) -> None:
    write_artifact(storage, ARTIFACTS, "ndr-prod", "if-2025.01")
    put_item(
        ddb,
        params_table,
        {
            "project_name": "ndr-prod",
            "job_name": "pipeline_model_publish#v1",
            "spec": spec_payload(group, approval_status="PendingManualApproval"),
        },
    )
    put_item(
        ddb,
        params_table,
        {"project_name": "ndr-prod", "job_name": "if_training#v1", "spec": {"model": {"version": "if-2025.01"}}},
    )
    argv = job_argv("pipeline_model_publish", params_table, storage.root, "--reference-ts-iso", "2025-02-01T00:00:00Z")
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["model_version"] == "if-2025.01" and summary["approval_status"] == "PendingManualApproval"
