"""What the live flow did on an environment, read back through the AWS APIs (the run report's batches and step
timings): each live state machine execution, whether the lock suppressed it as a duplicate, and the
`feature-15m` pipeline execution it started with that pipeline's steps."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from compiler.deploy.aws import Aws, translated
from compiler.local.demo_report import Batch, StepTiming
from compiler.orchestration.names import FEATURE_15M, LIVE, Orchestration

PIPELINE_EXECUTION = re.compile(r"arn:aws[a-z-]*:sagemaker:[^\"\\]+:pipeline/[^\"\\/]+/execution/[0-9a-zA-Z]+")
DUPLICATE_STATE = "Duplicate"


def _history(sfn: Any, arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for page in sfn.get_paginator("get_execution_history").paginate(executionArn=arn):
        events += page["events"]
    return events


def _pipeline_of(events: list[dict[str, Any]]) -> str | None:
    """The pipeline execution the live execution started (in its StartPipeline task's result)."""
    for event in events:
        found = PIPELINE_EXECUTION.search(json.dumps(event, default=str))
        if found:
            return found.group(0)
    return None


def live_batches(aws: Aws, orchestration: Orchestration) -> tuple[list[Batch], list[StepTiming]]:
    """Every live execution as a batch (oldest first) and the steps of the pipelines they started."""
    sfn, sagemaker = aws.client("stepfunctions"), aws.client("sagemaker")
    batches: list[Batch] = []
    steps: list[StepTiming] = []
    with translated(f"read the executions of {orchestration.name(LIVE)}"):
        executions = [
            e
            for page in sfn.get_paginator("list_executions").paginate(
                stateMachineArn=orchestration.state_machine_arn(LIVE)
            )
            for e in page["executions"]
        ]
        for execution in sorted(executions, key=lambda e: (e["startDate"], e["executionArn"])):
            events = _history(sfn, execution["executionArn"])
            entered = [e["stateEnteredEventDetails"]["name"] for e in events if e["type"].endswith("StateEntered")]
            pipeline = _pipeline_of(events)
            start: datetime = execution["startDate"]
            if DUPLICATE_STATE in entered or pipeline is None:  # no pipeline: the state it ended in says why
                status = DUPLICATE_STATE if DUPLICATE_STATE in entered else (entered or [execution["status"]])[-1]
                batches.append(Batch("-", execution["name"], start, execution.get("stopDate"), status))
                continue
            described = sagemaker.describe_pipeline_execution(PipelineExecutionArn=pipeline)
            parameters = {
                p["Name"]: p["Value"]
                for p in sagemaker.list_pipeline_parameters_for_execution(PipelineExecutionArn=pipeline)[
                    "PipelineParameters"
                ]
            }
            status = described["PipelineExecutionStatus"]
            end = described.get("LastModifiedTime") if status != "Executing" else None
            batches.append(
                Batch(parameters.get("ProjectName", "-"), parameters.get("MiniBatchId", "-"), start, end, status)
            )
            for step in sagemaker.list_pipeline_execution_steps(PipelineExecutionArn=pipeline, SortOrder="Ascending")[
                "PipelineExecutionSteps"
            ]:
                if step.get("StartTime") and step.get("EndTime"):
                    steps.append(
                        StepTiming(
                            orchestration.name(FEATURE_15M),
                            step["StepName"],
                            (step["EndTime"] - step["StartTime"]).total_seconds(),
                        )
                    )
    return batches, steps
