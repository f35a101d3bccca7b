"""Whether the project has a model in service yet.

A new project goes live (its 15-minute pipeline runs) before its first training: until a model is deployed,
scoring cannot happen and failing every 15 minutes would page on-call for nothing. So inference *skips*, with
an explicit outcome in its metrics, when BOTH signs of a model are absent: no attributes document under the
spec's `attributes_s3_prefix` (neither the pinned version nor `latest.json`) and no deployed endpoint
(`DescribeEndpoint` says it does not exist). Either sign alone is a misconfiguration (e.g. a pinned
`model_version` that was never described, or attributes for a model nobody deployed) and still fails loudly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from runtime.jobs.inference_predictions.spec import ModelSettings
from runtime.modelops.attributes import latest_uri, version_uri
from runtime.storage import Storage

SKIPPED_NO_MODEL = "skipped: no model in service"


def has_attributes(storage: Storage, model: ModelSettings) -> bool:
    prefix = model.attributes_s3_prefix
    if not prefix:
        return False
    candidates = [latest_uri(prefix)] + ([version_uri(prefix, model.model_version)] if model.model_version else [])
    return any(storage.exists(uri) for uri in candidates)


def endpoint_checker(region: str | None) -> Callable[[str], bool]:
    """`DescribeEndpoint` through boto3 (the pipeline role may call it): True when the endpoint exists. Only
    SageMaker's documented not-found answer (ValidationException "Could not find endpoint") means False; any
    other error propagates."""
    import boto3
    from botocore.exceptions import ClientError

    client: Any = boto3.client("sagemaker", region_name=region)

    def exists(name: str) -> bool:
        try:
            client.describe_endpoint(EndpointName=name)
        except ClientError as err:
            error = err.response.get("Error", {})
            if error.get("Code") == "ValidationException" and "could not find" in str(error.get("Message", "")).lower():
                return False
            raise
        return True

    return exists


def no_model_in_service(storage: Storage, model: ModelSettings, endpoint_exists: Callable[[str], bool]) -> str | None:
    """Why nothing can be scored yet, or None when a model is (or should be) in service."""
    if has_attributes(storage, model) or endpoint_exists(model.endpoint_name):
        return None
    where = f" and no attributes under {model.attributes_s3_prefix}" if model.attributes_s3_prefix else ""
    return f"{SKIPPED_NO_MODEL} (endpoint {model.endpoint_name} is not deployed{where})"
