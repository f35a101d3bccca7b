"""Register a trained model version in the SageMaker Model Registry (one model package group per project).

Idempotent: a version already registered with the same artifact (sha256) is reported, not registered twice;
the same version label with a different artifact is refused (a version must not change under its name).
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from runtime.errors import RuntimeJobError
from runtime.jobs.pipeline_model_publish.spec import PublishSpec
from runtime.modelops.artifact import ARCHIVE, artifact_uri, read_manifest
from runtime.modelops.model_packages import SHA_KEY, VERSION_KEY, find_version
from runtime.modelops.sagemaker_names import check_metadata, check_name
from runtime.storage import Storage, join


def ensure_group(sm: Any, group: str, project_name: str) -> bool:
    try:
        sm.describe_model_package_group(ModelPackageGroupName=group)
        return False
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") not in ("ValidationException", "ResourceNotFound"):
            raise
    sm.create_model_package_group(
        ModelPackageGroupName=group,
        ModelPackageGroupDescription=f"ndrc models of project {project_name}",
    )
    return True


def publish_model(
    spec: PublishSpec, project_name: str, model_version: str, storage: Storage, sm: Any
) -> dict[str, Any]:
    group = check_name("model package group", spec.model_package_group_name)
    uri = artifact_uri(spec.artifacts_s3_prefix, project_name, model_version)
    manifest = read_manifest(storage, uri)
    if manifest.model_version != model_version:
        raise RuntimeJobError(f"{uri}: manifest model_version {manifest.model_version!r} is not {model_version!r}")
    if not spec.inference_image_uri:
        raise RuntimeJobError("pipeline_model_publish needs spec.inference_image_uri (the model server image)")
    created_group = ensure_group(sm, group, project_name)
    existing = find_version(sm, group, model_version)
    summary: dict[str, Any] = {
        "model_package_group_name": group,
        "model_version": model_version,
        "artifact_uri": uri,
        "artifact_sha256": manifest.archive_sha256,
        "created_group": created_group,
    }
    if existing is not None:
        registered = existing.get("CustomerMetadataProperties", {}).get(SHA_KEY)
        if registered != manifest.archive_sha256:
            raise RuntimeJobError(
                f"model version {model_version!r} is already registered in {group} ({existing['ModelPackageArn']}) "
                f"with artifact sha256 {registered}, not {manifest.archive_sha256}; publish a new version label"
            )
        return {
            **summary,
            "created": False,
            "model_package_arn": existing["ModelPackageArn"],
            "approval_status": existing.get("ModelApprovalStatus"),
        }
    metrics_uri = join(spec.artifacts_s3_prefix, project_name, model_version, "model_metrics.json")
    metrics = {
        "model_version": model_version,
        "metrics": manifest.metrics,
        "data_window": manifest.data_window,
        "thresholds": manifest.thresholds,
    }
    storage.write_bytes(metrics_uri, json.dumps(metrics, indent=2, sort_keys=True).encode("utf-8"))
    frozen = None
    if spec.model_image_prefix:
        frozen = join(spec.model_image_prefix, project_name, model_version, ARCHIVE)
        storage.write_bytes(frozen, storage.read_bytes(uri))
    inference: dict[str, Any] = {
        "Containers": [
            {
                "Image": spec.inference_image_uri,
                "ModelDataUrl": uri,
                "Environment": {"NDRC_MODEL_VERSION": model_version},
            }
        ],
        "SupportedContentTypes": list(spec.content_types),
        "SupportedResponseMIMETypes": list(spec.response_types),
    }
    if spec.inference_instance_types:
        inference["SupportedRealtimeInferenceInstanceTypes"] = list(spec.inference_instance_types)
    response = sm.create_model_package(
        ModelPackageGroupName=group,
        ModelPackageDescription=spec.description or f"{project_name} {model_version}",
        InferenceSpecification=inference,
        ModelApprovalStatus=spec.approval_status,
        ModelMetrics={"ModelQuality": {"Statistics": {"ContentType": "application/json", "S3Uri": metrics_uri}}},
        CustomerMetadataProperties=check_metadata(
            {
                "ndrc_project": project_name,
                VERSION_KEY: model_version,
                SHA_KEY: manifest.archive_sha256,
                "ndrc_feature_count": str(len(manifest.feature_names)),
            }
        ),
    )
    return {
        **summary,
        "created": True,
        "model_package_arn": response["ModelPackageArn"],
        "approval_status": spec.approval_status,
        "metrics_uri": metrics_uri,
        "frozen_copy_uri": frozen,
    }
