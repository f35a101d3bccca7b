"""A 15-minute pipeline that fails after it started: SageMaker's status-change event, through the compiled
EventBridge rule, starts the live-outcome state machine, which marks the window's lock failed (so the event
redelivered or replayed can start the window again) and alerts.

moto stores EventBridge rules but delivers events only to SQS, logs and buses (not to Step Functions), and its
pipeline executions succeed at once. So the test builds SageMaker's event exactly in AWS's documented shape
from the real pipeline execution on the emulator, holds the compiled rule's pattern to it (moto's own pattern
matcher plus the documented field list), and starts the rule's target with the event itself, which is what
EventBridge sends a Step Functions target without an input transformer."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from typing import Any

import pytest
from orchestration_harness import Deployment, execute

from compiler.compilation.compile import CompileResult
from compiler.model import EnvironmentConfig
from compiler.orchestration.names import Orchestration
from compiler.orchestration.stepfunctions import PIPELINE_STATUS_CHANGE, outcome_machine

pytestmark = pytest.mark.emulator


def _event_pattern(rule: dict[str, Any]) -> Any:
    """EventBridge's matcher as moto implements it (imported here: without moto the module's marker skips it)."""
    from moto.events.models import EventPattern

    return EventPattern.load(rule["EventPattern"])


# The fields of "SageMaker model building pipeline execution status change" (SageMaker Developer Guide, "Events
# that Amazon SageMaker AI sends to Amazon EventBridge"; the same list as the EventBridge schema registry's
# aws.sagemaker@SageMakerModelBuildingPipelineExecutionStatusChange).
DOCUMENTED_DETAIL = {
    "currentPipelineExecutionStatus",
    "executionEndTime",
    "executionStartTime",
    "pipelineArn",
    "pipelineExecutionArn",
    "pipelineExecutionDescription",
    "pipelineExecutionDisplayName",
    "previousPipelineExecutionStatus",
}
EXECUTION_STATUSES = {"Executing", "Stopping", "Stopped", "Failed", "Succeeded"}


def _key() -> str:
    return f"paloalto/globex/hq/ndr-prod/2025/03/04/mb-{uuid.uuid4().hex[:8]}/part-0.json.gz"


def status_change_event(sagemaker: Any, execution_arn: str, status: str, region: str, account: str) -> dict[str, Any]:
    """SageMaker's event for this execution reaching `status`, in the documented shape."""
    described = sagemaker.describe_pipeline_execution(PipelineExecutionArn=execution_arn)
    detail = {
        "currentPipelineExecutionStatus": status,
        "previousPipelineExecutionStatus": "Executing",
        "executionStartTime": described["CreationTime"].strftime("%Y-%m-%dT%H:%M:%SZ"),
        "executionEndTime": described["LastModifiedTime"].strftime("%Y-%m-%dT%H:%M:%SZ"),
        "pipelineArn": described["PipelineArn"].lower(),
        "pipelineExecutionArn": execution_arn,
        "pipelineExecutionDisplayName": described.get("PipelineExecutionDisplayName", "execution"),
    }
    if "PipelineExecutionDescription" in described:
        detail["pipelineExecutionDescription"] = described["PipelineExecutionDescription"]
    assert set(detail) <= DOCUMENTED_DETAIL and status in EXECUTION_STATUSES
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": PIPELINE_STATUS_CHANGE,
        "source": "aws.sagemaker",
        "account": account,
        "time": detail["executionEndTime"],
        "region": region,
        "resources": [described["PipelineArn"], execution_arn],
        "detail": detail,
    }


def _rule(compile_result: CompileResult) -> dict[str, Any]:
    prefix = Orchestration(compile_result.compiled.environment).prefix
    path = compile_result.out_dir / "wiring" / f"{prefix}live-outcome.rule.json"
    return dict(json.loads(path.read_text()))


def _lock(deployment: Deployment, lock_key: str) -> dict[str, Any]:
    item = deployment.client("dynamodb").get_item(
        TableName=deployment.tables["lock"], Key={"lock_key": {"S": lock_key}}, ConsistentRead=True
    )
    return {k: next(iter(v.values())) for k, v in item.get("Item", {}).items()}


def test_a_failed_pipeline_marks_its_lock_and_the_window_can_start_again(
    deployment: Deployment, compile_result: CompileResult
) -> None:
    sfn, sagemaker = deployment.client("stepfunctions"), deployment.client("sagemaker")
    live, outcome = deployment.state_machines["live"], deployment.state_machines["outcome"]
    env = compile_result.compiled.environment
    event = {"s3_key": _key(), "timestamp": "2025-03-04T11:22:33Z"}
    [started] = execute(sfn, live, [event])
    assert started.output["status"] == "started", started.cause
    lock_key, first_pipeline = started.output["lock_key"], started.output["pipeline_execution_arn"]
    assert _lock(deployment, lock_key)["execution_arn"] == started.arn

    failed = status_change_event(sagemaker, first_pipeline, "Failed", env.region, str(env.get("account_id")))
    rule = _rule(compile_result)
    pattern = _event_pattern(rule)
    assert pattern.matches_event(failed)
    [target] = rule["Targets"]
    assert target["Arn"] == outcome and "Input" not in target and "InputTransformer" not in target

    [marked] = execute(sfn, outcome, [failed])
    assert (marked.status, marked.states) == ("SUCCEEDED", ["ParseOutcome", "CheckOutcome", "MarkLockFailed"])
    lock = _lock(deployment, lock_key)
    assert (lock["lock_status"], lock["pipeline_status"], lock["pipeline_execution_arn"]) == (
        "failed",
        "Failed",
        first_pipeline,
    )

    # the same event again (SNS/SQS redelivery, a replay from the DLQ): the window starts once more
    [again] = execute(sfn, live, [event])
    assert again.output["status"] == "started", again.cause
    assert again.output["pipeline_execution_arn"] != first_pipeline
    retaken = _lock(deployment, lock_key)
    assert retaken["execution_arn"] == again.arn and "lock_status" not in retaken
    [third] = execute(sfn, live, [event])
    assert third.states[-1] == "Duplicate"  # held again: duplicates stay duplicates

    # EventBridge delivers at least once: the old failure again must not touch the newer execution's lock
    [late] = execute(sfn, outcome, [{**failed, "id": str(uuid.uuid4())}])
    assert (late.status, late.states[-1]) == ("SUCCEEDED", "NotHeld")
    assert "lock_status" not in _lock(deployment, lock_key)


def test_only_failed_or_stopped_executions_that_ndrc_started_are_acted_on(
    deployment: Deployment, compile_result: CompileResult
) -> None:
    sfn, sagemaker = deployment.client("stepfunctions"), deployment.client("sagemaker")
    live, outcome = deployment.state_machines["live"], deployment.state_machines["outcome"]
    env = compile_result.compiled.environment
    region, account = env.region, str(env.get("account_id"))
    [started] = execute(sfn, live, [{"s3_key": _key(), "timestamp": "2025-03-04T12:52:00Z"}])
    pipeline_execution = started.output["pipeline_execution_arn"]
    pattern = _event_pattern(_rule(compile_result))

    succeeded = status_change_event(sagemaker, pipeline_execution, "Succeeded", region, account)
    stopped = status_change_event(sagemaker, pipeline_execution, "Stopped", region, account)
    assert not pattern.matches_event(succeeded) and pattern.matches_event(stopped)
    other_pipeline = json.loads(json.dumps(stopped))
    detail = other_pipeline["detail"]
    detail["pipelineArn"] = detail["pipelineArn"].replace("feature-15m", "fg-b-baseline")
    assert not pattern.matches_event(other_pipeline)

    # the machine checks again what the rule filters (a hand-started execution has no ndrc description)
    manual = json.loads(json.dumps(stopped))
    manual["detail"]["pipelineExecutionDescription"] = "started by hand"
    runs = execute(sfn, outcome, [succeeded, other_pipeline, manual, stopped])
    assert [run.states[-1] for run in runs] == ["Ignored", "Ignored", "Ignored", "MarkLockFailed"]
    assert _lock(deployment, started.output["lock_key"])["pipeline_status"] == "Stopped"


def test_the_alert_names_the_window_and_the_pipeline_execution(
    deployment: Deployment, compile_result: CompileResult
) -> None:
    """With `orchestration.alert_topic_arn` the machine publishes an alert after marking the lock."""
    sfn, sagemaker, sns, sqs = (deployment.client(s) for s in ("stepfunctions", "sagemaker", "sns", "sqs"))
    env = compile_result.compiled.environment
    topic = sns.create_topic(Name=f"ndr-alerts-{uuid.uuid4().hex[:6]}")["TopicArn"]
    queue = sqs.create_queue(QueueName=f"alerts-{uuid.uuid4().hex[:6]}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
    orchestration = {**env.settings.get("orchestration", {}), "alert_topic_arn": topic}
    alerting = replace(env, settings={**env.settings, "orchestration": orchestration})
    definition = outcome_machine(Orchestration(EnvironmentConfig(alerting.name, alerting.settings)))
    machine = sfn.create_state_machine(
        name=f"outcome-alerts-{uuid.uuid4().hex[:6]}",
        definition=json.dumps(definition),
        roleArn=str(env.get("roles.state_machine")),
    )["stateMachineArn"]

    event = {"s3_key": _key(), "timestamp": "2025-03-04T13:07:07Z"}
    [started] = execute(sfn, deployment.state_machines["live"], [event])
    failed = status_change_event(
        sagemaker, started.output["pipeline_execution_arn"], "Failed", env.region, str(env.get("account_id"))
    )
    [alerted] = execute(sfn, machine, [failed])
    assert alerted.states[-2:] == ["MarkLockFailed", "Alert"], alerted.cause
    [message] = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=2).get("Messages", [])
    body = json.loads(message["Body"])
    assert (body["lock_key"], body["status"], body["pipeline_execution_arn"], body["started_by"]) == (
        started.output["lock_key"],
        "Failed",
        started.output["pipeline_execution_arn"],
        started.arn,
    )
