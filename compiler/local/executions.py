"""What ran in an environment: recent state machine and pipeline executions (with their steps), and firing the
published schedule of a schedule-started pipeline on demand (`ndrc local status`, `ndrc local trigger <flow>`).
Plain data; the CLI renders it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from compiler.deploy.aws import Aws, translated
from compiler.errors import AwsError, UsageError
from compiler.local import scheduler
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
            runs.append(
                Run(
                    "state_machine",
                    orchestration.name(flow),
                    item["executionArn"],
                    item["status"],
                    item.get("startDate"),
                    item.get("stopDate"),
                )
            )
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
                runs.append(
                    Run(
                        "pipeline",
                        name,
                        arn,
                        status,
                        item.get("StartTime"),
                        end,
                        described.get("FailureReason") or None,
                        _steps(sagemaker, arn) if with_steps else (),
                    )
                )
    return runs


def recent_runs(aws: Aws, orchestration: Orchestration, limit: int = 10, with_steps: bool = True) -> list[Run]:
    """The newest `limit` executions of each state machine and pipeline, newest first."""
    runs = _state_machine_runs(aws, orchestration, limit) + _pipeline_runs(aws, orchestration, limit, with_steps)
    return sorted(runs, key=lambda run: (run.start.timestamp() if run.start else 0.0, run.arn), reverse=True)


def trigger(
    aws: Aws,
    orchestration: Orchestration,
    flow: str,
    project: str,
    version: str = "",
    reference_ts_iso: str = "",
    token: str | None = None,
) -> str:
    """Fire the published schedule that starts `flow` for `project` (and `version`) now, as EventBridge
    Scheduler would (`compiler.local.scheduler`); returns the execution ARN. `reference_ts_iso` is the scheduled
    time (default: now); `token` replaces the schedule's ClientRequestToken."""
    if flow not in SCHEDULED_FLOWS:
        raise UsageError(f"{flow!r} is not started by a schedule; choose one of {', '.join(SCHEDULED_FLOWS)}")
    schedule = scheduler.select(
        scheduler.published_schedules(aws, orchestration), orchestration, flow, project, version
    )
    fired = scheduler.fire(
        aws, schedule, scheduled_time(reference_ts_iso), {"ClientRequestToken": token} if token else None
    )
    if fired.error:
        raise AwsError(f"schedule {schedule.name} could not start {orchestration.name(flow)}: {fired.error}")
    return fired.started


def scheduled_time(text: str) -> datetime:
    """An ISO-8601 time (naive = UTC; `Z` accepted), or now to the second when empty."""
    if not text:
        return datetime.now(UTC).replace(microsecond=0)
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"{text!r} is not an ISO-8601 time (e.g. 2025-01-01T00:30:00Z)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
