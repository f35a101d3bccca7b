"""SageMaker target: one pipeline definition per flow, plus the content-addressed runtime bundle they run."""

from __future__ import annotations

from typing import Any

from compiler.model import Artifact, CompiledWorkspace
from compiler.orchestration import Orchestration
from compiler.orchestration_code import ARCHIVE, CODE_DIR, LAUNCHER, RuntimeBundle, runtime_bundle
from compiler.orchestration_flows import (
    DEFAULT_INSTANCE_COUNT,
    DEFAULT_VOLUME_SIZE_GB,
    ENTRY_JOB,
    ENTRY_STEP,
    FLOWS,
    Flow,
    Step,
    resource_parameter,
)
from compiler.orchestration_render import canonical_json, render_document, template_sources

KIND = "sagemaker_pipeline"
BUNDLE_KIND = "runtime_bundle"
TEMPLATE = "sagemaker/pipeline.json.j2"
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


def _get(parameter: str) -> dict[str, str]:
    return {"Get": f"Parameters.{parameter}"}


def _arguments(job: str, flow: Flow, extra: tuple[tuple[str, str], ...] = ()) -> list[Any]:
    arguments: list[Any] = [job]
    for option, parameter in (*flow.arguments, *extra):
        arguments += [option, _get(parameter)]
    return arguments


def _resource_parameters(step: Step, orchestration: Orchestration) -> list[dict[str, Any]]:
    env = orchestration.environment
    defaults: dict[str, tuple[str, str | int]] = {
        "InstanceType": (
            "String",
            str(env.get(f"instance_types.{step.instance_kind}") or env.get("instance_types.processing")),
        ),
        "InstanceCount": ("Integer", DEFAULT_INSTANCE_COUNT),
        "VolumeSizeInGB": ("Integer", DEFAULT_VOLUME_SIZE_GB),
        "MaxRuntimeInSeconds": ("Integer", step.max_runtime_seconds),
        "ImageUri": ("String", str(env.get("images.spark_processing"))),
    }
    return [
        {"Name": resource_parameter(step, suffix), "Type": kind, "DefaultValue": value}
        for suffix, (kind, value) in defaults.items()
    ]


def _entry_step(flow: Flow, orchestration: Orchestration) -> dict[str, Any]:
    env = orchestration.environment
    arguments: list[Any] = [ENTRY_JOB]
    identity = [pair for pair in flow.arguments if pair[0] in ("--project-name", "--feature-spec-version")]
    for option, parameter in (*identity, *flow.entry_arguments):
        arguments += [option, _get(parameter)]
    arguments += ["--jobs", ",".join(flow.jobs)]
    return {
        "name": ENTRY_STEP,
        "description": "Reads every spec this pipeline needs in one BatchGetItem pass; fails fast if one is missing.",
        "depends_on": [],
        "image_uri": str(env.get("images.spark_processing")),
        "entrypoint": ENTRYPOINTS["python"],
        "arguments": arguments,
        "instance_type": str(env.get("instance_types.processing")),
        "instance_count": 1,
        "volume_size_gb": DEFAULT_VOLUME_SIZE_GB,
        "max_runtime_seconds": ENTRY_MAX_RUNTIME_SECONDS,
    }


def _job_step(step: Step, flow: Flow) -> dict[str, Any]:
    return {
        "name": step.name,
        "description": f"runtime job {step.job} ({step.engine})",
        "depends_on": list(step.depends_on),
        "image_uri": _get(resource_parameter(step, "ImageUri")),
        "entrypoint": ENTRYPOINTS[step.engine],
        "arguments": _arguments(step.job, flow),
        "instance_type": _get(resource_parameter(step, "InstanceType")),
        "instance_count": _get(resource_parameter(step, "InstanceCount")),
        "volume_size_gb": _get(resource_parameter(step, "VolumeSizeInGB")),
        "max_runtime_seconds": _get(resource_parameter(step, "MaxRuntimeInSeconds")),
    }


def pipeline_definition(orchestration: Orchestration, flow: Flow, bundle: RuntimeBundle) -> dict[str, Any]:
    env = orchestration.environment
    parameters: list[dict[str, Any]] = []
    for parameter in flow.parameters:
        entry: dict[str, Any] = {"Name": parameter.name, "Type": parameter.type}
        if parameter.default is not None:
            entry["DefaultValue"] = parameter.default
        parameters.append(entry)
    for step in flow.steps:
        parameters += _resource_parameters(step, orchestration)
    context = {
        "environment": env.name,
        "flow": {"key": flow.key, "description": flow.description},
        "parameters": parameters,
        "steps": [_entry_step(flow, orchestration), *(_job_step(step, flow) for step in flow.steps)],
        "retry_policies": RETRY_POLICIES,
        "role_arn": str(env.get("roles.sagemaker_execution")),
        "step_environment": {
            "ML_PROJECTS_PARAMETERS_TABLE_NAME": env.parameters_table,
            "ML_PROJECTS_ROUTING_TABLE_NAME": env.routing_table,
            "AWS_DEFAULT_REGION": env.region,
            "NDRC_ENV": env.name,
            "NDRC_RUNTIME_SHA256": bundle.digest,
            **({"MLFLOW_TRACKING_URI": str(uri)} if (uri := env.settings.get("mlflow_tracking_uri")) else {}),
        },
        "code": {
            "uri": bundle.prefix_uri(orchestration.artifacts_bucket),
            "local_path": CODE_DIR,
            "digest": bundle.digest,
        },
    }
    document = render_document(TEMPLATE, context)
    if not isinstance(document, dict):
        raise TypeError(f"{TEMPLATE} must render a JSON object")
    return document


def bundle_artifacts(orchestration: Orchestration, bundle: RuntimeBundle) -> list[Artifact]:
    prefix = bundle.prefix_uri(orchestration.artifacts_bucket)
    return [
        Artifact(BUNDLE_KIND, f"{prefix}{name}", f"runtime/{bundle.digest}/{name}", content, bundle.sources)
        for name, content in ((ARCHIVE, bundle.archive), (LAUNCHER, bundle.launcher))
    ]


def build_artifacts(workspace: CompiledWorkspace) -> list[Artifact]:
    orchestration = Orchestration(workspace.environment)
    bundle = runtime_bundle()
    artifacts = bundle_artifacts(orchestration, bundle)
    for flow in FLOWS:
        name = orchestration.name(flow.key)
        artifacts.append(
            Artifact(
                kind=KIND,
                name=name,
                path=f"sagemaker/{name}.json",
                content=canonical_json(pipeline_definition(orchestration, flow, bundle)),
                sources=("ndrc.yaml", *template_sources(TEMPLATE)),
            )
        )
    return artifacts
