"""Create or update the SageMaker model, endpoint config and endpoint of an approved model package.

Names are derived from the package version (`<endpoint>-v<N>`, `<config prefix>-v<N>`), so a re-run finds
what it created and changes nothing; an endpoint already on the target config is left alone. Updates use
SageMaker's blue/green deployment (`DeploymentConfig.BlueGreenUpdatePolicy`) with the spec's traffic
shifting (all at once, canary or linear) and CloudWatch alarms for automatic rollback; after the update the
step waits for the endpoint and fails when SageMaker rolled it back to the previous config.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from runtime.errors import RuntimeJobError
from runtime.jobs.pipeline_model_deploy import autoscaling
from runtime.jobs.pipeline_model_deploy.spec import DeploySpec, RolloutSpec
from runtime.modelops.sagemaker_names import check_name, derived_name

SETTLING = ("Creating", "Updating", "SystemUpdating", "RollingBack")
_TRAFFIC = {"all_at_once": "ALL_AT_ONCE", "canary": "CANARY", "linear": "LINEAR"}


def _missing(err: ClientError) -> bool:
    return err.response.get("Error", {}).get("Code") in ("ValidationException", "ResourceNotFound")


def _describe(call: Callable[..., dict[str, Any]], **kwargs: Any) -> dict[str, Any] | None:
    try:
        return call(**kwargs)
    except ClientError as err:
        if _missing(err):
            return None
        raise


def resolve_package(sm: Any, spec: DeploySpec) -> dict[str, Any] | None:
    """The explicit package, else the newest Approved version of the group (None: nothing approved)."""
    if spec.model_package_arn:
        return dict(sm.describe_model_package(ModelPackageName=spec.model_package_arn))
    page = sm.list_model_packages(
        ModelPackageGroupName=spec.model_package_group_name,
        ModelApprovalStatus="Approved",
        SortBy="CreationTime",
        SortOrder="Descending",
        MaxResults=1,
    )
    summaries = page.get("ModelPackageSummaryList", [])
    if not summaries:
        return None
    return dict(sm.describe_model_package(ModelPackageName=summaries[0]["ModelPackageArn"]))


def deployment_config(rollout: RolloutSpec) -> dict[str, Any]:
    routing: dict[str, Any] = {
        "Type": _TRAFFIC[rollout.strategy],
        "WaitIntervalInSeconds": rollout.wait_interval_seconds,
    }
    if rollout.strategy == "canary":
        routing["CanarySize"] = {"Type": "CAPACITY_PERCENT", "Value": int(rollout.canary_size_percent)}
    if rollout.strategy == "linear":
        routing["LinearStepSize"] = {"Type": "CAPACITY_PERCENT", "Value": int(rollout.linear_step_percent)}
    config: dict[str, Any] = {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": routing,
            "TerminationWaitInSeconds": rollout.termination_wait_seconds,
        }
    }
    if rollout.auto_rollback_alarms:
        config["AutoRollbackConfiguration"] = {"Alarms": [{"AlarmName": a} for a in rollout.auto_rollback_alarms]}
    return config


def wait_for_endpoint(
    sm: Any, name: str, rollout: RolloutSpec, sleep: Callable[[float], None] = time.sleep
) -> dict[str, Any]:
    deadline = time.monotonic() + rollout.wait_timeout_seconds
    while True:
        endpoint = dict(sm.describe_endpoint(EndpointName=name))
        if endpoint.get("EndpointStatus") not in SETTLING:
            return endpoint
        if time.monotonic() >= deadline:
            raise RuntimeJobError(
                f"endpoint {name} still {endpoint.get('EndpointStatus')} after {rollout.wait_timeout_seconds}s"
            )
        sleep(rollout.poll_seconds)


def _instance_type(sm: Any, config_name: str | None, variant_name: str) -> str | None:
    config = _describe(sm.describe_endpoint_config, EndpointConfigName=config_name) if config_name else None
    for variant in (config or {}).get("ProductionVariants", []):
        if variant.get("VariantName") == variant_name:
            return str(variant.get("InstanceType"))
    return None


def deploy(
    spec: DeploySpec,
    sm: Any,
    config_prefix: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
    scaling: Any | None = None,
) -> dict[str, Any]:
    """`scaling`: an application-autoscaling client, needed when the spec sets `autoscaling`."""
    endpoint_name = check_name("endpoint", spec.endpoint_name)
    package = resolve_package(sm, spec)
    if package is None:
        return {
            "deployed": False,
            "endpoint_name": endpoint_name,
            "reason": f"no Approved model package in group {spec.model_package_group_name} (approve one first)",
        }
    arn = str(package["ModelPackageArn"])
    suffix = f"v{package['ModelPackageVersion']}" if package.get("ModelPackageVersion") else arn.rsplit("/", 1)[-1]
    model_name = check_name("model", derived_name(endpoint_name, suffix))
    config_name = check_name(
        "endpoint config", derived_name(spec.endpoint_config_name_prefix or config_prefix or endpoint_name, suffix)
    )
    actions: list[str] = []
    model = _describe(sm.describe_model, ModelName=model_name)
    if model is None:
        sm.create_model(
            ModelName=model_name, ExecutionRoleArn=spec.execution_role_arn, PrimaryContainer={"ModelPackageName": arn}
        )
        actions.append(f"created model {model_name}")
    elif model.get("PrimaryContainer", {}).get("ModelPackageName") != arn:
        raise RuntimeJobError(f"model {model_name} exists but serves {model.get('PrimaryContainer')}, not {arn}")
    config = _describe(sm.describe_endpoint_config, EndpointConfigName=config_name)
    if config is None:
        variant = {
            "VariantName": spec.variant_name,
            "ModelName": model_name,
            "InstanceType": spec.instance_type,
            "InitialInstanceCount": spec.initial_instance_count,
        }
        kwargs: dict[str, Any] = {"EndpointConfigName": config_name, "ProductionVariants": [variant]}
        if spec.capture_enabled:
            if not spec.capture_destination:
                raise RuntimeJobError("data_capture.enabled needs data_capture.destination_s3_prefix")
            kwargs["DataCaptureConfig"] = {
                "EnableCapture": True,
                "InitialSamplingPercentage": spec.capture_sampling_percentage,
                "DestinationS3Uri": spec.capture_destination,
                "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
            }
        sm.create_endpoint_config(**kwargs)
        actions.append(f"created endpoint config {config_name}")
    elif [v.get("ModelName") for v in config.get("ProductionVariants", [])] != [model_name]:
        raise RuntimeJobError(f"endpoint config {config_name} exists but does not serve model {model_name}")
    endpoint = _describe(sm.describe_endpoint, EndpointName=endpoint_name)
    previous = endpoint.get("EndpointConfigName") if endpoint else None
    if endpoint is None:
        sm.create_endpoint(EndpointName=endpoint_name, EndpointConfigName=config_name)
        actions.append(f"created endpoint {endpoint_name}")
    elif previous == config_name and endpoint.get("EndpointStatus") not in ("Failed",):
        actions.append(f"endpoint {endpoint_name} already serves {config_name}")
    else:
        if spec.autoscaling and _instance_type(sm, previous, spec.variant_name) not in (None, spec.instance_type):
            actions.extend(autoscaling.release_for_update(autoscaling.require_client(scaling), endpoint_name,
                                                          spec.variant_name))  # fmt: skip
        sm.update_endpoint(
            EndpointName=endpoint_name, EndpointConfigName=config_name, DeploymentConfig=deployment_config(spec.rollout)
        )
        actions.append(f"updated endpoint {endpoint_name} from {previous} to {config_name} ({spec.rollout.strategy})")
    final = wait_for_endpoint(sm, endpoint_name, spec.rollout, sleep)
    status, serving = final.get("EndpointStatus"), final.get("EndpointConfigName")
    if status != "InService":
        raise RuntimeJobError(f"endpoint {endpoint_name} is {status}: {final.get('FailureReason', 'no reason given')}")
    if serving != config_name:
        raise RuntimeJobError(
            f"endpoint {endpoint_name} was rolled back to {serving} (the update to {config_name} failed: "
            f"{final.get('FailureReason', 'an alarm or health check tripped')})"
        )
    if spec.autoscaling:
        actions.extend(
            autoscaling.apply(autoscaling.require_client(scaling), spec.autoscaling, endpoint_name, spec.variant_name)
        )
    return {
        "deployed": True,
        "endpoint_name": endpoint_name,
        "endpoint_config_name": config_name,
        "model_name": model_name,
        "model_package_arn": arn,
        "previous_endpoint_config_name": previous,
        "strategy": spec.rollout.strategy,
        "actions": actions,
        "autoscaling": (
            {"resource_id": autoscaling.resource_id(endpoint_name, spec.variant_name), **vars(spec.autoscaling)}
            if spec.autoscaling
            else None
        ),
    }
