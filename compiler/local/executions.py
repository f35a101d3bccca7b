"""What ran in an environment: recent state machine and pipeline executions (with their steps), and starting a
schedule-started pipeline on demand (`ndrc local status`, `ndrc local trigger <flow>`). Plain data; the CLI
renders it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from compiler.deploy.aws import Aws, translated
from compiler.errors import UsageError
from compiler.orchestration.names import (
    FG_B_BASELINE,
    IF_TRAINING,
    MACHINE_INVENTORY_UNLOAD,
    STATE_MACHINE_FLOWS,
    Orchestration,
)

# The pipelines a schedule starts (not a state machine): FG-B baselines daily, training and the inventory
# unload monthly. Each takes ProjectName, FeatureSpecVersion (empty: resolved) and ReferenceTsIso (empty: now).
SCHEDULED_FLOWS: tuple[str, ...] = (FG_B_BASELINE, IF_TRAINING, MACHINE_INVENTORY_UNLOAD)


@dataclass(frozen=True)
class StepRun:
    name: str
    status: str
    start: datetime | None
    end: datetime | None
    failure_reason: str | None

    @property
    def seconds(self) -> float | None:
        return (self.end - self.start).total_seconds() if self.start and self.end else None


@dataclass(frozen=True)
class Run:
    kind: str  # state_machine | pipeline
    resource: str
    arn: str
    status: str
    start: datetime | None
    end: datetime | None = None
    failure_reason: str | None = None
    steps: tuple[StepRun, ...] = field(default=())

    @property
    def name(self) -> str:
        return self.arn.rsplit("/", 1)[-1].rsplit(":", 1)[-1]


def _state_machine_runs(aws: Aws, orchestration: Orchestration, limit: int) -> list[Run]:
    sfn = aws.client("stepfunctions")
    runs = []
    for flow in STATE_MACHINE_FLOWS:
        arn = orchestration.state_machine_arn(flow)
        with translated(f"list the executions of {orchestration.name(flow)}"):
            try:
                found = sfn.list_executions(stateMachineArn=arn, maxResults=limit)["executions"]
            except sfn.exceptions.StateMachineDoesNotExist:
                continue
        for item in found:
            runs.append(Run("state_machine", orchestration.name(flow), item["executionArn"], item["status"],
                            item.get("startDate"), item.get("stopDate")))
    return runs


def _steps(sagemaker: Any, arn: str) -> tuple[StepRun, ...]:
    found = sagemaker.list_pipeline_execution_steps(PipelineExecutionArn=arn, SortOrder="Ascending")
    return tuple(
        StepRun(s["StepName"], s["StepStatus"], s.get("StartTime"), s.get("EndTime"), s.get("FailureReason"))
        for s in found["PipelineExecutionSteps"]
    )


def _pipeline_runs(aws: Aws, orchestration: Orchestration, limit: int, with_steps: bool) -> list[Run]:
    sagemaker = aws.client("sagemaker")
    runs = []
    with translated("list the pipelines"):
        pipelines = sagemaker.list_pipelines(PipelineNamePrefix=orchestration.prefix, MaxResults=100)
    for pipeline in pipelines["PipelineSummaries"]:
        name = pipeline["PipelineName"]
        with translated(f"list the executions of {name}"):
            summaries = sagemaker.list_pipeline_executions(PipelineName=name)["PipelineExecutionSummaries"]
            for item in summaries[:limit]:
                arn = item["PipelineExecutionArn"]
                described = sagemaker.describe_pipeline_execution(PipelineExecutionArn=arn)
                status = described["PipelineExecutionStatus"]
                end = described.get("LastModifiedTime") if status != "Executing" else None
                runs.append(Run("pipeline", name, arn, status, item.get("StartTime"), end,
                                described.get("FailureReason") or None,
                                _steps(sagemaker, arn) if with_steps else ()))
    return runs


def recent_runs(aws: Aws, orchestration: Orchestration, limit: int = 10, with_steps: bool = True) -> list[Run]:
    """The newest `limit` executions of each state machine and pipeline, newest first."""
    runs = _state_machine_runs(aws, orchestration, limit) + _pipeline_runs(aws, orchestration, limit, with_steps)
    return sorted(runs, key=lambda run: (run.start.timestamp() if run.start else 0.0, run.arn), reverse=True)


def trigger(aws: Aws, orchestration: Orchestration, flow: str, project: str, version: str = "",
            reference_ts_iso: str = "", token: str | None = None) -> str:
    """Start a schedule-started pipeline now, as its schedule would; returns the execution ARN."""
    if flow not in SCHEDULED_FLOWS:
        raise UsageError(f"{flow!r} is not started by a schedule; choose one of {', '.join(SCHEDULED_FLOWS)}")
    parameters = {"ProjectName": project, "FeatureSpecVersion": version, "ReferenceTsIso": reference_ts_iso}
    request = token or hashlib.sha256(f"{flow}|{project}|{version}|{reference_ts_iso}|{datetime.now()}".encode()
                                      ).hexdigest()
    with translated(f"start {orchestration.name(flow)}"):
        started = aws.client("sagemaker").start_pipeline_execution(
            PipelineName=orchestration.name(flow), ClientRequestToken=request[:128],
            PipelineParameters=[{"Name": k, "Value": v} for k, v in parameters.items()],
        )
    return str(started["PipelineExecutionArn"])
