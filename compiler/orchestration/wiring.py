"""The wiring around the state machines and pipelines, as the request documents AWS takes.

Live entry (seed: S3 producer event -> SNS -> SQS -> Step Functions):

    producer topic --(subscription, raw delivery)--> <prefix>live-entry queue --(pipe, batch of 1,
    FIRE_AND_FORGET)--> <prefix>live-inference state machine
                                         <prefix>live-entry-dlq <-- maxReceiveCount / the machine's redrive

The pipe passes each SQS record unchanged (no filter, no input template): the live state machine turns the
message into its event (`expressions/entry.jsonata`: raw S3 notification or SNS envelope, URL-decoded key,
the S3 record's `eventTime`, `s3:TestEvent` ignored), so the one transformation is JSONata evaluated by the
tests on both engines, and a local poller only has to build the record Pipes would send (`pipe_batch`).

Schedules (EventBridge Scheduler): one per scheduled flow and project (and version) with a spec for the
flow's job, starting the shared pipeline through the universal target `aws-sdk:sagemaker:
startPipelineExecution` with the project's identity, its processing resources (the same rule as the state
machines, evaluated at compile time from the specs) and the scheduled time as `ReferenceTsIso`.

Every document here is exactly the request body of the API that creates the resource (`CreateQueue`,
`Subscribe`, `CreatePipe`, `CreateSchedule`), so publish sends it as it is and a reader compares the same keys.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from compiler.errors import NdrcError
from compiler.model import CompiledWorkspace, JobItem
from compiler.orchestration import names as n
from compiler.orchestration.flows import FLOWS_BY_KEY, RESOURCE_FIELDS
from compiler.orchestration.names import Orchestration

# SQS: a message may wait at most 14 days; SendMessage delays at most 900 seconds (SQS Developer Guide).
MAX_RETENTION_SECONDS = 14 * 86400
MAX_DELAY_SECONDS = 900
MAX_REDRIVE_SOURCES = 10  # RedriveAllowPolicy `byQueue`: at most 10 sourceQueueArns (SQS API Reference)
ENTRY_VISIBILITY_SECONDS = 300
ENTRY_RETENTION_SECONDS = 4 * 86400
# Pipe -> StartExecution failures (throttling excepted) are retried by SQS until this many receives.
ENTRY_MAX_RECEIVES = 5
# The attribute the live state machine counts its own redeliveries in (SQS message attribute).
ATTEMPT_ATTRIBUTE = "ndrc-attempt"
ERROR_ATTRIBUTE = "ndrc-error"
EXECUTION_ATTRIBUTE = "ndrc-execution"

SCHEDULE_TARGET = "arn:aws:scheduler:::aws-sdk:sagemaker:startPipelineExecution"
SCHEDULE_NAME = re.compile(r"^[0-9a-zA-Z\-_.]{1,64}$")
SCHEDULE_RETRY = {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 20}


@dataclass(frozen=True)
class ScheduledFlow:
    flow: str
    job: str  # a project gets the schedule when it has a spec for this job
    cron: str
    window_minutes: int


# Defaults; `orchestration.schedules.<flow>.{cron, flexible_window_minutes, enabled}` in ndrc.yaml override.
SCHEDULED_FLOWS: tuple[ScheduledFlow, ...] = (
    ScheduledFlow(n.FG_B_BASELINE, "fg_b_builder", "cron(30 0 * * ? *)", 60),  # daily, 00:30 UTC
    ScheduledFlow(n.MACHINE_INVENTORY_UNLOAD, "machine_inventory_unload", "cron(0 1 1 * ? *)", 60),  # monthly
    ScheduledFlow(n.IF_TRAINING, "if_training", "cron(0 4 1 * ? *)", 120),  # monthly, after the unload
)


class WiringError(NdrcError):
    exit_code = 2


def _role(o: Orchestration, purpose: str) -> str:
    role = o.environment.get(f"roles.{purpose}")
    if not role:
        raise WiringError(f"environment {o.environment.name!r}: roles.{purpose} is not set in ndrc.yaml")
    return str(role)


def _policy_json(document: dict[str, Any]) -> str:
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


# --- the live entry ----------------------------------------------------------------------------------


def topic_arn(o: Orchestration) -> str | None:
    topic = o.environment.get("entry.topic_arn")
    return str(topic) if topic else None


def redrive_allow_policy(source_queue_arns: list[str]) -> dict[str, Any]:
    """Which queues may name a dead-letter queue in their RedrivePolicy (SQS API Reference, `SetQueueAttributes`,
    `RedriveAllowPolicy`): `byQueue` with 1-10 `sourceQueueArns`, or `denyAll` (no list) for a queue that only
    receives `SendMessage` (the schedules' DLQ: Scheduler sends to it, no queue redrives to it)."""
    if not source_queue_arns:
        return {"redrivePermission": "denyAll"}
    if len(source_queue_arns) > MAX_REDRIVE_SOURCES:
        raise WiringError(f"a dead-letter queue admits at most {MAX_REDRIVE_SOURCES} source queues")
    return {"redrivePermission": "byQueue", "sourceQueueArns": sorted(source_queue_arns)}


def dead_letter_queue(o: Orchestration, name: str, source_queue_arns: list[str]) -> dict[str, Any]:
    """Keeps a message the longest SQS allows; only the named source queues may redrive to it. (moto 5.2.5
    drops RedriveAllowPolicy: publish compares it only against AWS, see compiler/deploy/wiring.py.)"""
    return {
        "QueueName": name,
        "Attributes": {
            "MessageRetentionPeriod": str(MAX_RETENTION_SECONDS),
            "ReceiveMessageWaitTimeSeconds": "0",
            "RedriveAllowPolicy": _policy_json(redrive_allow_policy(source_queue_arns)),
            "SqsManagedSseEnabled": "true",
            "VisibilityTimeout": "30",
        },
    }


def entry_dead_letter_queue(o: Orchestration) -> dict[str, Any]:
    return dead_letter_queue(o, o.name(n.LIVE_ENTRY_DLQ), [o.queue_arn(o.name(n.LIVE_ENTRY))])


def entry_queue(o: Orchestration) -> dict[str, Any]:
    """The queue the producer topic delivers to; the live state machine requeues to it (its own role)."""
    arn = o.queue_arn(o.name(n.LIVE_ENTRY))
    attributes = {
        "MessageRetentionPeriod": str(ENTRY_RETENTION_SECONDS),
        "VisibilityTimeout": str(ENTRY_VISIBILITY_SECONDS),
        "ReceiveMessageWaitTimeSeconds": "20",
        "RedrivePolicy": _policy_json(
            {"deadLetterTargetArn": o.queue_arn(o.name(n.LIVE_ENTRY_DLQ)), "maxReceiveCount": ENTRY_MAX_RECEIVES}
        ),
        "SqsManagedSseEnabled": "true",
    }
    topic = topic_arn(o)
    if topic:
        statement = {
            "Sid": "ProducerTopicDelivers",
            "Effect": "Allow",
            "Principal": {"Service": "sns.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": topic}},
        }
        attributes["Policy"] = _policy_json({"Version": "2012-10-17", "Statement": [statement]})
    return {"QueueName": o.name(n.LIVE_ENTRY), "Attributes": attributes}


def entry_subscription(o: Orchestration) -> dict[str, Any] | None:
    """Raw message delivery: the queue receives the producer's message itself, not the SNS envelope
    (the state machine accepts both, so a subscription without it still works)."""
    topic = topic_arn(o)
    if topic is None:
        return None
    return {
        "TopicArn": topic,
        "Protocol": "sqs",
        "Endpoint": o.queue_arn(o.name(n.LIVE_ENTRY)),
        "Attributes": {"RawMessageDelivery": "true"},
        "ReturnSubscriptionArn": True,
    }


def entry_pipe(o: Orchestration) -> dict[str, Any]:
    """SQS -> live state machine. Batch size 1: the machine handles one message per execution (Pipes sends
    a one-element array even then). FIRE_AND_FORGET: the target is a STANDARD workflow (REQUEST_RESPONSE
    is Express only), so the message is deleted once StartExecution succeeds; the machine's own redrive
    path (`Redeliver` states) requeues or dead-letters the message when it fails later."""
    return {
        "Name": o.name(n.LIVE_ENTRY),
        "Description": f"ndrc: producer events -> {o.name(n.LIVE)} (one execution per message)",
        "DesiredState": "RUNNING",
        "RoleArn": _role(o, "pipe"),
        "Source": o.queue_arn(o.name(n.LIVE_ENTRY)),
        "SourceParameters": {"SqsQueueParameters": {"BatchSize": 1}},
        "Target": o.state_machine_arn(n.LIVE),
        "TargetParameters": {"StepFunctionStateMachineParameters": {"InvocationType": "FIRE_AND_FORGET"}},
    }


def pipe_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """One SQS message as boto3's ReceiveMessage returns it (with `AttributeNames=["All"]`,
    `MessageAttributeNames=["All"]`) -> the record a pipe with an SQS source sends (EventBridge User
    Guide, "Amazon SQS as a source": the Lambda SQS event record shape, message attributes in camel case)."""
    attributes = {
        name: {
            "stringValue": value.get("StringValue"),
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": value["DataType"],
        }
        for name, value in sorted(message.get("MessageAttributes", {}).items())
    }
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(sorted(message.get("Attributes", {}).items())),
        "messageAttributes": attributes,
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def pipe_batch(pipe: dict[str, Any], messages: list[dict[str, Any]], region: str) -> list[list[dict[str, Any]]]:
    """What the compiled pipe hands its target for these received messages: one JSON array per
    invocation, `BatchSize` records each (the pipe has neither filter nor input template)."""
    size = int(pipe["SourceParameters"]["SqsQueueParameters"]["BatchSize"])
    records = [pipe_record(message, pipe["Source"], region) for message in messages]
    return [records[i : i + size] for i in range(0, len(records), size)]


# --- the live-outcome rule ----------------------------------------------------------------------------

# EventBridge's default retry of a target, stated (EventBridge User Guide, "Retrying events"): 24 h, 185 attempts.
OUTCOME_RETRY = {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185}


def outcome_event_pattern(o: Orchestration) -> dict[str, Any]:
    """SageMaker's status-change events of the shared 15-minute pipeline that ended badly. SageMaker puts the
    pipeline's ARN lowercased in the event; ndrc's names are lowercase (name_prefix + flow)."""
    from compiler.orchestration.stepfunctions import PIPELINE_ENDED_BADLY, PIPELINE_STATUS_CHANGE

    return {
        "source": ["aws.sagemaker"],
        "detail-type": [PIPELINE_STATUS_CHANGE],
        "detail": {
            "currentPipelineExecutionStatus": list(PIPELINE_ENDED_BADLY),
            "pipelineArn": [o.pipeline_arn(n.FEATURE_15M).lower()],
        },
    }


def outcome_rule(o: Orchestration) -> dict[str, Any]:
    """PutRule's request plus `Targets`, PutTargets' list for it (publish makes both calls): the rule starts the
    live-outcome state machine with the event itself (no input transformer) as `roles.events`."""
    return {
        "Name": o.name(n.LIVE_OUTCOME),
        "Description": f"ndrc: a failed or stopped {o.name(n.FEATURE_15M)} execution -> {o.name(n.LIVE_OUTCOME)}",
        "EventPattern": json.dumps(outcome_event_pattern(o), sort_keys=True),
        "State": "ENABLED",
        "Targets": [
            {
                "Id": n.LIVE_OUTCOME,
                "Arn": o.state_machine_arn(n.LIVE_OUTCOME),
                "RoleArn": _role(o, "events"),
                "RetryPolicy": dict(OUTCOME_RETRY),
            }
        ],
    }


# --- schedules ---------------------------------------------------------------------------------------


def _natural(version: str | None) -> tuple[Any, ...]:
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", version or ""))


def _schedule_settings(o: Orchestration, scheduled: ScheduledFlow) -> tuple[str, int, bool]:
    base = f"orchestration.schedules.{scheduled.flow}"
    cron = str(o.environment.get(f"{base}.cron", scheduled.cron))
    window = int(o.environment.get(f"{base}.flexible_window_minutes", scheduled.window_minutes))
    return cron, window, bool(o.environment.get(f"{base}.enabled", True))


def scheduled_versions(workspace: CompiledWorkspace, job: str) -> list[tuple[str, str | None, JobItem]]:
    """(project, version, item) to schedule: per project the versions its enabled routes pin that have
    the job's spec, else its naturally highest version with one (an unversioned spec: version None)."""
    by_project: dict[str, list[JobItem]] = {}
    for item in workspace.items:
        if item.job_name == job:
            by_project.setdefault(item.project_name, []).append(item)
    pinned_by_project: dict[str, set[str | None]] = {}
    for route in workspace.routes:
        if route.enabled:
            pinned_by_project.setdefault(route.project_name, set()).add(route.feature_spec_version)
    chosen = []
    for project, items in sorted(by_project.items()):
        pinned = pinned_by_project.get(project, set())
        picked = [i for i in items if i.feature_spec_version in pinned]
        if not picked:
            picked = [max(items, key=lambda i: _natural(i.feature_spec_version))]
        picked.sort(key=lambda i: _natural(i.feature_spec_version))
        chosen += [(project, i.feature_spec_version, i) for i in picked]
    return chosen


class _ItemIndex:
    """The workspace's items by project and by (project, job, version), built once per call of `schedules`
    (looking them up in the item list per schedule made a compile quadratic in the number of projects)."""

    def __init__(self, workspace: CompiledWorkspace) -> None:
        self.by_key: dict[tuple[str, str, str | None], JobItem] = {}
        self.by_project: dict[str, list[JobItem]] = {}
        for item in workspace.items:
            self.by_key.setdefault((item.project_name, item.job_name, item.feature_spec_version), item)
            self.by_project.setdefault(item.project_name, []).append(item)

    def find(self, project: str, job: str, version: str | None) -> JobItem | None:
        """As `CompiledWorkspace.find`: the first item with these names."""
        return self.by_key.get((project, job, version))


def _resources(index: _ItemIndex, project: str, version: str | None, flow: str) -> list[dict[str, str]]:
    """The steps' processing resources as pipeline parameters: `spec.processing.<field>`, else the item's
    `pipeline_defaults.<field>` (the versioned item, else the unversioned one) — as the state machines do."""
    parameters = []
    for step in FLOWS_BY_KEY[flow].steps:
        item = index.find(project, step.job, version) or index.find(project, step.job, None)
        if item is None:
            continue
        for field, suffix in RESOURCE_FIELDS:
            value = (item.spec.get("processing") or {}).get(field)
            if value is None:
                value = (item.attributes.get("pipeline_defaults") or {}).get(field)
            if value is not None:
                parameters.append({"Name": f"{step.name}{suffix}", "Value": str(value)})
    return parameters


def schedule_name(o: Orchestration, flow: str, project: str, version: str | None) -> str:
    name = "-".join(part for part in (o.name(flow), project, version) if part)
    if SCHEDULE_NAME.match(name):
        return name
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:10]
    safe = re.sub(r"[^0-9a-zA-Z\-_.]", "-", name)
    return f"{safe[:53]}-{digest}"


@dataclass(frozen=True)
class CompiledSchedule:
    name: str
    flow: str
    document: dict[str, Any]
    sources: tuple[str, ...]


def schedules(o: Orchestration, workspace: CompiledWorkspace) -> list[CompiledSchedule]:
    compiled = []
    index = _ItemIndex(workspace)
    for scheduled in SCHEDULED_FLOWS:
        cron, window, enabled = _schedule_settings(o, scheduled)
        pipeline = o.name(scheduled.flow)
        for project, version, item in scheduled_versions(workspace, scheduled.job):
            name = schedule_name(o, scheduled.flow, project, version)
            parameters = [
                {"Name": "ProjectName", "Value": project},
                {"Name": "FeatureSpecVersion", "Value": version or ""},
                {"Name": "ReferenceTsIso", "Value": "<aws.scheduler.scheduled-time>"},
                *_resources(index, project, version, scheduled.flow),
            ]
            token = hashlib.sha256(name.encode("utf-8")).hexdigest()[:16]
            request = {
                "PipelineName": pipeline,
                "PipelineExecutionDescription": f"schedule {name} at <aws.scheduler.scheduled-time>",
                "PipelineParameters": parameters,
                # The same on Scheduler's retries of one invocation (the scheduled time is), so a retry after
                # a lost response does not start a second run; 16 + 20 + 6 characters (32-128).
                "ClientRequestToken": f"ndrc-{token}-<aws.scheduler.scheduled-time>",
            }
            document = {
                "Name": name,
                "GroupName": "default",
                "Description": f"ndrc: {pipeline} for {project} {version or '(unversioned)'}",
                "ScheduleExpression": cron,
                "ScheduleExpressionTimezone": "UTC",
                "FlexibleTimeWindow": {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": window},
                "State": "ENABLED" if enabled else "DISABLED",
                "Target": {
                    "Arn": SCHEDULE_TARGET,
                    "RoleArn": _role(o, "scheduler"),
                    "Input": json.dumps(request, sort_keys=True),
                    "DeadLetterConfig": {"Arn": o.queue_arn(o.name(n.SCHEDULES_DLQ))},
                    "RetryPolicy": dict(SCHEDULE_RETRY),
                },
            }
            jobs = FLOWS_BY_KEY[scheduled.flow].jobs
            read = {
                i.source
                for i in index.by_project.get(project, ())
                if i.job_name in jobs and i.feature_spec_version in (version, None)
            }
            sources = tuple(sorted({"ndrc.yaml", item.source, *read}))
            compiled.append(CompiledSchedule(name, scheduled.flow, document, sources))
    return compiled


def schedules_dead_letter_queue(o: Orchestration) -> dict[str, Any]:
    return dead_letter_queue(o, o.name(n.SCHEDULES_DLQ), [])


def has_account(o: Orchestration) -> bool:
    return o.account != "*"


def has_role(o: Orchestration, purpose: str) -> bool:
    return bool(o.environment.get(f"roles.{purpose}"))
