"""Step Functions target: the live-inference and backfill state machines (JSONata ASL)."""

from __future__ import annotations

from typing import Any

from compiler import orchestration as names
from compiler.model import Artifact, CompiledWorkspace
from compiler.orchestration import Orchestration
from compiler.orchestration_flows import BATCH_PARAMETERS, FLOWS_BY_KEY, RESOURCE_FIELDS, Flow
from compiler.orchestration_render import canonical_json, render_document, template_sources

KIND = "state_machine"
TEMPLATES: dict[str, tuple[str, str]] = {
    # flow -> (template, manifest role)
    names.LIVE: ("stepfunctions/live_inference.asl.json.j2", "live"),
    names.BACKFILL: ("stepfunctions/backfill.asl.json.j2", "backfill"),
}
SHARED_TEMPLATES = (
    "stepfunctions/_checks.j2",
    "stepfunctions/_jsonata.j2",
    "stepfunctions/_lock_and_start.j2",
)
WINDOW_FIELDS = ("project_name", "mini_batch_id", "mini_batch_s3_prefix", "batch_start_ts_iso", "batch_end_ts_iso")

# Throttling and transient service errors, under the names of both integration styles: optimized
# (`DynamoDB.<ErrorCode>`) and AWS SDK (`<Service>.<ExceptionClass>`, `<Service>.<Service>Exception`).
_BACKOFF: dict[str, Any] = {
    "IntervalSeconds": 1,
    "BackoffRate": 2.0,
    "MaxAttempts": 6,
    "MaxDelaySeconds": 20,
    "JitterStrategy": "FULL",
}
RETRY: dict[str, list[dict[str, Any]]] = {
    "dynamodb": [
        {
            "ErrorEquals": [
                "DynamoDB.ProvisionedThroughputExceededException",
                "DynamoDB.RequestLimitExceeded",
                "DynamoDB.ThrottlingException",
                "DynamoDB.InternalServerError",
            ],
            **_BACKOFF,
        }
    ],
    "dynamodb_sdk": [
        {
            "ErrorEquals": [
                "DynamoDb.ProvisionedThroughputExceededException",
                "DynamoDb.RequestLimitExceededException",
                "DynamoDb.ThrottlingException",
                "DynamoDb.InternalServerErrorException",
            ],
            **_BACKOFF,
        }
    ],
    "sagemaker": [
        {
            "ErrorEquals": [
                "SageMaker.ThrottlingException",
                "SageMaker.ResourceLimitExceededException",
                "SageMaker.SageMakerException",
            ],
            **_BACKOFF,
        }
    ],
}


def _steps(flow: Flow) -> list[dict[str, str]]:
    return [{"job": step.job, "step": step.name} for step in flow.steps]


def template_context(orchestration: Orchestration) -> dict[str, Any]:
    feature = FLOWS_BY_KEY[names.FEATURE_15M]
    extractor = FLOWS_BY_KEY[names.BACKFILL_EXTRACTOR]
    return {
        "environment": orchestration.environment.name,
        "names": {
            "live": orchestration.name(names.LIVE),
            "backfill": orchestration.name(names.BACKFILL),
            "feature_pipeline": orchestration.name(names.FEATURE_15M),
            "extractor_pipeline": orchestration.name(names.BACKFILL_EXTRACTOR),
        },
        "tables": orchestration.tables,
        "ingestion_bucket": orchestration.ingestion_bucket,
        "floor_minutes": list(names.WINDOW_FLOOR_MINUTES),
        "lock": {
            "key_attribute": names.LOCK_KEY_ATTRIBUTE,
            "ttl_attribute": names.LOCK_TTL_ATTRIBUTE,
            "ttl_seconds": orchestration.setting("lock_ttl_days") * 86400,
        },
        "retry": RETRY,
        "batch_parameters": list(BATCH_PARAMETERS),
        "window_fields": list(WINDOW_FIELDS),
        "resource_fields": [{"field": field, "suffix": suffix} for field, suffix in RESOURCE_FIELDS],
        "feature_jobs": ["project_parameters", *feature.required_jobs],
        "feature_steps": _steps(feature),
        "extractor_jobs": ["project_parameters", *extractor.required_jobs, *feature.required_jobs],
        "extractor_steps": _steps(extractor),
        "extractor_flow_job": extractor.steps[0].job,
        "backfill": {
            "max_concurrency": orchestration.setting("backfill_max_concurrency"),
            "max_concurrency_limit": orchestration.setting("backfill_max_concurrency_limit"),
            "extractor_timeout_seconds": orchestration.setting("extractor_timeout_seconds"),
            "poll_seconds": orchestration.setting("pipeline_poll_seconds"),
        },
    }


def state_machine_definition(orchestration: Orchestration, flow: str) -> dict[str, Any]:
    template, _ = TEMPLATES[flow]
    document = render_document(template, template_context(orchestration))
    if not isinstance(document, dict):
        raise TypeError(f"{template} must render a JSON object")
    return document


def build_artifacts(workspace: CompiledWorkspace) -> list[Artifact]:
    orchestration = Orchestration(workspace.environment)
    artifacts = []
    for flow, (template, role) in TEMPLATES.items():
        name = orchestration.name(flow)
        artifacts.append(
            Artifact(
                kind=KIND,
                name=name,
                path=f"stepfunctions/{name}.asl.json",
                content=canonical_json(state_machine_definition(orchestration, flow)),
                sources=("ndrc.yaml", *template_sources(template, *SHARED_TEMPLATES)),
                role=role,
            )
        )
    return artifacts
