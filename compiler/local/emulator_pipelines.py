"""SageMaker Pipelines that run, inside the emulator: moto records `StartPipelineExecution` and answers
`Succeeded` at once; with `install()` the execution runs its stored definition (`PipelineExecutor`) and the
Describe/List calls answer with what really happened.

Patched on moto's SageMaker backend (moto is pinned in pyproject.toml):
- `StartPipelineExecution`: the definition and the parameters are checked first (an unknown parameter or a
  parameter with neither value nor default is a ValidationException, as in SageMaker); a repeated
  `ClientRequestToken` on the same pipeline returns the first execution's ARN and starts nothing (the
  token's documented idempotency; moto ignores it); else the execution starts `Executing`.
- `DescribePipelineExecution`, `ListPipelineExecutions`: status, `FailureReason`, last modified time from
  the executor; executions listed newest first (SageMaker's default `SortOrder` is Descending).
- `ListPipelineExecutionSteps` (moto has none): the started steps, newest first, with `StepStatus`,
  `StartTime`, `EndTime`, `FailureReason`, `AttemptCount` and the processing job ARN in `Metadata`.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from compiler.deploy.aws import Aws
from compiler.local.pipeline_definition import DefinitionError, execution_parameters, parse_definition
from compiler.local.pipeline_executor import Execution, ExecutionRecord, PipelineExecutor
from compiler.local.step_runners import ColdRunner, StepRunner, WarmPool
from compiler.model import EnvironmentConfig

CODE_CACHE = "_inputs"


class S3PrefixFetcher:
    """Copies an `s3://bucket/prefix/` input to a host folder (once per URI: the compiled inputs are the
    content-addressed runtime bundle), through the emulator's own S3 API."""

    def __init__(self, endpoint: str, region: str, cache: Path) -> None:
        self.endpoint = endpoint
        self.region = region
        self.cache = cache
        self._lock = threading.Lock()

    def __call__(self, uri: str) -> Path:
        if not uri.startswith("s3://"):
            raise DefinitionError(f"S3Uri {uri!r} is not an s3:// URI")
        bucket, _, prefix = uri[len("s3://") :].partition("/")
        folder = self.cache / hashlib.sha256(uri.encode()).hexdigest()[:24]
        with self._lock:
            if folder.is_dir():
                return folder
            client = Aws(
                EnvironmentConfig("emulator", {"region": self.region, "endpoint_url": self.endpoint}), pool_size=4
            ).client("s3")
            partial = folder.with_suffix(".partial")
            partial.mkdir(parents=True, exist_ok=True)
            found = 0
            for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    relative = item["Key"][len(prefix) :].lstrip("/") if prefix else item["Key"]
                    target = partial / relative
                    target.parent.mkdir(parents=True, exist_ok=True)
                    client.download_file(bucket, item["Key"], str(target))
                    found += 1
            if not found:
                raise DefinitionError(f"no object under {uri} (was the runtime bundle published?)")
            partial.rename(folder)
            return folder


def step_environment(endpoint: str, storage_root: str | None, extra: Mapping[str, str]) -> dict[str, str]:
    """What every local step process gets besides its own `Environment`: this emulator as its AWS endpoint
    (with throwaway credentials, never real ones) and the local storage root standing in for S3."""
    from runtime import contract

    variables = {k: v for k, v in os.environ.items() if k not in ("AWS_SESSION_TOKEN", "AWS_PROFILE")}
    variables.update(
        {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": "ndrc-local",
            "AWS_SECRET_ACCESS_KEY": "ndrc-local",
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )
    if storage_root:
        variables[contract.STORAGE_ROOT_ENV] = storage_root
    variables.update(extra)
    return variables


def build_executor(
    endpoint: str,
    region: str,
    work_dir: Path,
    storage_root: str | None,
    budget: int,
    warm: bool,
    extra_environment: Mapping[str, str],
) -> PipelineExecutor:
    work_dir.mkdir(parents=True, exist_ok=True)
    base = step_environment(endpoint, storage_root, extra_environment)
    scratch = work_dir / "scratch"
    scratch.mkdir(exist_ok=True)
    runner: StepRunner = WarmPool(base, budget, work_dir, scratch) if warm else ColdRunner(base)
    return PipelineExecutor(runner, S3PrefixFetcher(endpoint, region, work_dir / CODE_CACHE), budget, work_dir)


def _iso(record: ExecutionRecord) -> Any:
    return record.end or record.start


def install(executor: PipelineExecutor) -> None:
    """Route moto's SageMaker pipeline calls through `executor` (once per process)."""
    from moto.sagemaker import models, responses
    from moto.sagemaker.exceptions import ValidationError
    from moto.sagemaker.utils import get_pipeline_execution_from_arn, get_pipeline_from_name

    backend: Any = models.SageMakerModelBackend  # patched: typed loosely on purpose
    response_class: Any = responses.SageMakerResponse
    original_start = backend.start_pipeline_execution
    original_describe = backend.describe_pipeline_execution
    original_list = backend.list_pipeline_executions

    def start(
        self: Any,
        pipeline_name: str,
        display_name: str,
        parameters: list[dict[str, Any]] | None,
        description: str,
        parallelism: dict[str, int] | None,
        token: str | None,
    ) -> dict[str, str]:
        pipeline = get_pipeline_from_name(self.pipelines, pipeline_name)
        if token:
            for arn, existing in pipeline.pipeline_executions.items():
                if existing.client_request_token == token:
                    return {"PipelineExecutionArn": arn}
        try:
            definition = parse_definition(pipeline.pipeline_definition)
            values = execution_parameters(definition, parameters)
        except DefinitionError as err:
            raise ValidationError(message=str(err)) from None
        started = original_start(self, pipeline_name, display_name, parameters, description, parallelism, token)
        arn = started["PipelineExecutionArn"]
        fake: Any = pipeline.pipeline_executions[arn]
        fake.pipeline_execution_status = "Executing"
        configured = parallelism or pipeline.parallelism_configuration or {}

        def ended(record: ExecutionRecord) -> None:
            fake.pipeline_execution_status = record.status
            fake.pipeline_execution_failure_reason = record.failure_reason
            fake.last_modified_time = record.end

        executor.start(
            Execution(
                arn,
                pipeline.pipeline_name,
                arn.rsplit("/", 1)[-1],
                definition,
                values,
                configured.get("MaxParallelExecutionSteps"),
            ),
            ended,
        )
        return started

    def describe(self: Any, pipeline_execution_arn: str) -> dict[str, Any]:
        answer = original_describe(self, pipeline_execution_arn)
        record = executor.record(pipeline_execution_arn)
        answer.pop("FailureReason", None)
        if record is not None:
            answer["PipelineExecutionStatus"] = record.status
            answer["LastModifiedTime"] = _iso(record)
            if record.failure_reason:
                answer["FailureReason"] = record.failure_reason
        return answer

    def list_executions(self: Any, pipeline_name: str) -> dict[str, Any]:
        answer = original_list(self, pipeline_name)
        summaries = []
        for summary in answer["PipelineExecutionSummaries"]:
            summary.pop("PipelineExecutionFailureReason", None)
            record = executor.record(summary["PipelineExecutionArn"])
            if record is not None:
                summary["PipelineExecutionStatus"] = record.status
                if record.failure_reason:
                    summary["PipelineExecutionFailureReason"] = record.failure_reason
            summaries.append(summary)
        summaries.sort(key=lambda s: s["StartTime"], reverse=True)
        return {"PipelineExecutionSummaries": summaries}

    def list_steps(self: Any, pipeline_execution_arn: str, ascending: bool) -> dict[str, Any]:
        get_pipeline_execution_from_arn(self.pipelines, pipeline_execution_arn)  # ValidationException if unknown
        record = executor.record(pipeline_execution_arn)
        steps = sorted(record.steps.values(), key=lambda s: s.start, reverse=not ascending) if record else []
        rendered = []
        for step in steps:
            entry: dict[str, Any] = {
                "StepName": step.name,
                "StartTime": step.start,
                "StepStatus": step.status,
                "AttemptCount": 1,
                "Metadata": {"ProcessingJob": {"Arn": step.job_arn}},
            }
            if step.end is not None:
                entry["EndTime"] = step.end
            if step.failure_reason:
                entry["FailureReason"] = step.failure_reason
            rendered.append(entry)
        return {"PipelineExecutionSteps": rendered}

    def list_steps_response(self: Any) -> Any:
        from moto.core.responses import ActionResult

        order = self._get_param("SortOrder") or "Descending"
        return ActionResult(
            list_steps(self.sagemaker_backend, self._get_param("PipelineExecutionArn"), order == "Ascending")
        )

    backend.start_pipeline_execution = start
    backend.describe_pipeline_execution = describe
    backend.list_pipeline_executions = list_executions
    response_class.list_pipeline_execution_steps = list_steps_response
