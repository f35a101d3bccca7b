"""SageMaker pipeline definitions (schema 2020-12-01) as dicts, one per flow of `flows.FLOWS`.

Every step is a Processing step running the bundled `runtime` entry point; the first one, ResolveSpecs,
reads every spec the pipeline needs from DynamoDB in one BatchGetItem pass and fails fast if one is missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from compiler.orchestration import images, limits
from compiler.orchestration.bundle import ARCHIVE, CODE_DIR, LAUNCHER, RuntimeBundle
from compiler.orchestration.flows import (
    DEFAULT_INSTANCE_COUNT,
    DEFAULT_VOLUME_SIZE_GB,
    ENTRY_JOB,
    ENTRY_STEP,
    Flow,
    Step,
    resource_parameter,
)
from compiler.orchestration.names import Orchestration
from runtime.contract import (
    ENVIRONMENT_NAME_ENV,
    LOCK_TABLE_ENV,
    PARAMETERS_TABLE_ENV,
    ROUTING_TABLE_ENV,
    RUNTIME_DIGEST_ENV,
)

ENTRY_MAX_RUNTIME_SECONDS = 900
ENTRYPOINTS: dict[str, list[str]] = {
    "spark": ["smspark-submit", "--py-files", f"{CODE_DIR}/{ARCHIVE}", f"{CODE_DIR}/{LAUNCHER}"],
    "python": ["python3", f"{CODE_DIR}/{LAUNCHER}"],
}
RETRY_POLICIES: list[dict[str, Any]] = [
    {"ExceptionType": "Step.SERVICE_FAULT", "IntervalSeconds": 10, "BackoffRate": 2.0, "MaxAttempts": 3},
    {"ExceptionType": "Step.THROTTLING", "IntervalSeconds": 10, "BackoffRate": 2.0, "MaxAttempts": 5},
    {"ExceptionType": "SageMaker.CAPACITY_ERROR", "IntervalSeconds": 60, "BackoffRate": 2.0, "MaxAttempts": 4},
    {"ExceptionType": "SageMaker.JOB_INTERNAL_ERROR", "IntervalSeconds": 30, "BackoffRate": 2.0, "MaxAttempts": 2},
]


@dataclass(frozen=True)
class Common:
    """What every step of an environment's pipelines shares."""

    environment: dict[str, str]
    code_uri: str
    role_arn: str
    network: dict[str, Any] | None = None  # NetworkConfig (VPC) when the environment sets one
    volume_kms_key_id: str | None = None


def get(parameter: str) -> dict[str, str]:
    """A pipeline parameter reference."""
    return {"Get": f"Parameters.{parameter}"}


def parameter(name: str, kind: str, default: str | int | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"Name": name, "Type": kind}
    if default is not None:
        entry["DefaultValue"] = default
    return entry


def processing_step(
    name: str,
    description: str,
    *,
    depends_on: list[str],
    image_uri: Any,
    entrypoint: list[str],
    arguments: list[Any],
    instance_type: Any,
    instance_count: Any,
    volume_size_gb: Any,
    max_runtime_seconds: Any,
    common: Common,
) -> dict[str, Any]:
    step: dict[str, Any] = {
        "Name": name,
        "Type": "Processing",
        "Description": description,
        "RetryPolicies": [dict(policy) for policy in RETRY_POLICIES],
        "Arguments": {
            "AppSpecification": {
                "ImageUri": image_uri,
                "ContainerEntrypoint": list(entrypoint),
                "ContainerArguments": arguments,
            },
            "Environment": dict(common.environment),
            "ProcessingInputs": [
                {
                    "InputName": "code",
                    "S3Input": {
                        "S3Uri": common.code_uri,
                        "LocalPath": CODE_DIR,
                        "S3DataType": "S3Prefix",
                        "S3InputMode": "File",
                        "S3DataDistributionType": "FullyReplicated",
                    },
                }
            ],
            "ProcessingResources": {
                "ClusterConfig": {
                    "InstanceType": instance_type,
                    "InstanceCount": instance_count,
                    "VolumeSizeInGB": volume_size_gb,
                }
            },
            "RoleArn": common.role_arn,
            "StoppingCondition": {"MaxRuntimeInSeconds": max_runtime_seconds},
        },
    }
    if common.network:
        step["Arguments"]["NetworkConfig"] = common.network
    if common.volume_kms_key_id:
        step["Arguments"]["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] = common.volume_kms_key_id
    if depends_on:
        step["DependsOn"] = depends_on
    return step


def _arguments(job: str, pairs: tuple[tuple[str, str], ...]) -> list[Any]:
    arguments: list[Any] = [job]
    for option, name in pairs:
        arguments += [option, get(name)]
    return arguments


def _resource_parameters(step: Step, o: Orchestration) -> list[dict[str, Any]]:
    env = o.environment
    instance_type = env.get(f"instance_types.{step.instance_kind}") or env.get("instance_types.processing")
    defaults: dict[str, tuple[str, str | int]] = {
        "InstanceType": ("String", str(instance_type)),
        "InstanceCount": ("Integer", DEFAULT_INSTANCE_COUNT),
        "VolumeSizeInGB": ("Integer", DEFAULT_VOLUME_SIZE_GB),
        "MaxRuntimeInSeconds": ("Integer", step.max_runtime_seconds),
        "ImageUri": ("String", o.image_uri(images.step_image(step.engine))),
    }
    return [parameter(resource_parameter(step, suffix), kind, value) for suffix, (kind, value) in defaults.items()]


def _network(o: Orchestration) -> dict[str, Any] | None:
    subnets = o.environment.get("processing.subnets")
    if not subnets:
        return None
    groups = o.environment.get("processing.security_group_ids") or []
    return {
        "EnableInterContainerTrafficEncryption": True,
        "VpcConfig": {"SecurityGroupIds": list(groups), "Subnets": list(subnets)},
    }


def pipeline_definition(o: Orchestration, flow: Flow, bundle: RuntimeBundle) -> dict[str, Any]:
    env = o.environment
    common = Common(
        environment={
            PARAMETERS_TABLE_ENV: env.parameters_table,
            ROUTING_TABLE_ENV: env.routing_table,
            LOCK_TABLE_ENV: env.lock_table,
            "AWS_DEFAULT_REGION": env.region,
            ENVIRONMENT_NAME_ENV: env.name,
            RUNTIME_DIGEST_ENV: bundle.digest,
            **({"MLFLOW_TRACKING_URI": str(uri)} if (uri := env.settings.get("mlflow_tracking_uri")) else {}),
        },
        code_uri=bundle.prefix_uri(o.artifacts_bucket),
        role_arn=str(env.get("roles.sagemaker_execution")),
        network=_network(o),
        volume_kms_key_id=env.get("processing.volume_kms_key_id"),
    )
    identity = tuple(pair for pair in flow.arguments if pair[0] in ("--project-name", "--feature-spec-version"))
    entry = processing_step(
        ENTRY_STEP,
        "Reads every spec this pipeline needs in one BatchGetItem pass; fails fast if one is missing.",
        depends_on=[],
        image_uri=o.image_uri(images.step_image("python")),
        entrypoint=ENTRYPOINTS["python"],
        arguments=[*_arguments(ENTRY_JOB, (*identity, *flow.entry_arguments)), "--jobs", ",".join(flow.required_jobs)],
        instance_type=str(env.get("instance_types.processing")),
        instance_count=1,
        volume_size_gb=DEFAULT_VOLUME_SIZE_GB,
        max_runtime_seconds=ENTRY_MAX_RUNTIME_SECONDS,
        common=common,
    )
    steps = [entry]
    for step in flow.steps:
        steps.append(
            processing_step(
                step.name,
                f"runtime job {step.job} ({step.engine})",
                depends_on=list(step.depends_on),
                image_uri=get(resource_parameter(step, "ImageUri")),
                entrypoint=ENTRYPOINTS[step.engine],
                arguments=_arguments(step.job, flow.arguments),
                instance_type=get(resource_parameter(step, "InstanceType")),
                instance_count=get(resource_parameter(step, "InstanceCount")),
                volume_size_gb=get(resource_parameter(step, "VolumeSizeInGB")),
                max_runtime_seconds=get(resource_parameter(step, "MaxRuntimeInSeconds")),
                common=common,
            )
        )
    parameters = [parameter(p.name, p.type, p.default) for p in flow.parameters]
    for step in flow.steps:
        parameters += _resource_parameters(step, o)
    definition = {
        "Version": "2020-12-01",
        "Metadata": {"ndrc_flow": flow.key, "ndrc_environment": env.name, "ndrc_runtime_sha256": bundle.digest},
        "Parameters": parameters,
        "Steps": steps,
    }
    return limits.check(definition, flow)
