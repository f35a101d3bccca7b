"""Publishing the wiring artifacts: SQS queues, the SNS subscription, the pipe, the schedules, the live-outcome
EventBridge rule.

Each artifact is the request document of the API that creates it (`compiler/orchestration/wiring.py`).
The desired content is that document; the deployed content is the same keys read back (Describe/Get
calls), so the plan diffs field by field. JSON-in-string attributes (queue policies) are compared parsed.
Registered in `desired.EXPANDERS`, `deployed.Reader.readers`, `apply.Applier.writers` and `publish.phase`.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from compiler.deploy.aws import Aws, error_code, is_emulator
from compiler.deploy.desired import DesiredState, Resource, Scope
from compiler.deploy.diff import content_hash
from compiler.deploy.owned import creation_tags
from compiler.model import EnvironmentConfig

if TYPE_CHECKING:
    from compiler.deploy.apply import Outcome
    from compiler.deploy.deployed import Deployed
    from compiler.deploy.plan import Change

QUEUE, SUBSCRIPTION, PIPE, SCHEDULE, RULE = "sqs_queue", "sns_subscription", "pipe", "schedule", "event_rule"
KINDS = (QUEUE, SUBSCRIPTION, PIPE, SCHEDULE, RULE)
JSON_ATTRIBUTES = ("Policy", "RedrivePolicy", "RedriveAllowPolicy")
# Attributes moto 5.2.5 accepts and silently drops (AWS keeps them): on the emulator they are sent but not compared,
# or a plan would never converge there. The compiled document is held to AWS's rule by tests/targets.
EMULATOR_DROPPED_ATTRIBUTES = ("RedriveAllowPolicy",)
# The queue attributes ndrc sets; the others (ARN, counters, timestamps) are SQS's own and never compared.
QUEUE_ATTRIBUTES = (
    "MessageRetentionPeriod",
    "VisibilityTimeout",
    "ReceiveMessageWaitTimeSeconds",
    "SqsManagedSseEnabled",
    *JSON_ATTRIBUTES,
)
PIPE_KEYS = ("Description", "DesiredState", "RoleArn", "Source", "SourceParameters", "Target", "TargetParameters")
RULE_KEYS = ("Description", "EventPattern", "State", "Targets")
TARGET_KEYS = ("Id", "Arn", "RoleArn", "RetryPolicy", "DeadLetterConfig", "Input", "InputPath", "InputTransformer")
SCHEDULE_KEYS = (
    "Description",
    "FlexibleTimeWindow",
    "GroupName",
    "ScheduleExpression",
    "ScheduleExpressionTimezone",
    "State",
    "Target",
)


# --- desired -----------------------------------------------------------------------------------------


def _queue_content(document: dict[str, Any], emulator: bool) -> dict[str, Any]:
    attributes = {
        name: json.loads(value) if name in JSON_ATTRIBUTES else value
        for name, value in document.get("Attributes", {}).items()
        if not (emulator and name in EMULATOR_DROPPED_ATTRIBUTES)
    }
    return {"QueueName": document["QueueName"], "Attributes": attributes}


def _subscription_content(document: dict[str, Any]) -> dict[str, Any]:
    return {key: document[key] for key in ("TopicArn", "Protocol", "Endpoint", "Attributes")}


def _content(kind: str, document: dict[str, Any], emulator: bool) -> dict[str, Any]:
    if kind == QUEUE:
        return _queue_content(document, emulator)
    if kind == SUBSCRIPTION:
        return _subscription_content(document)
    if kind == RULE:
        return _rule_content(document)
    keys = PIPE_KEYS if kind == PIPE else SCHEDULE_KEYS
    content = {key: document[key] for key in keys if key in document}
    if kind == SCHEDULE:
        content["Target"] = {**content["Target"], "Input": json.loads(content["Target"]["Input"])}
    return content


def _rule_content(document: dict[str, Any]) -> dict[str, Any]:
    content = {key: document[key] for key in RULE_KEYS if key in document}
    content["EventPattern"] = json.loads(content.get("EventPattern") or "{}")
    content["Targets"] = sorted(
        ({k: t[k] for k in TARGET_KEYS if k in t} for t in content.get("Targets", [])), key=lambda t: str(t["Id"])
    )
    return content


def expand(entry: dict[str, Any], text: str, env: EnvironmentConfig, state: DesiredState) -> None:
    """A wiring artifact -> one resource; its target is the name AWS knows it by."""
    kind, document = str(entry["kind"]), json.loads(text)
    target = str(document.get("Endpoint") if kind == SUBSCRIPTION else entry["name"])
    scope = Scope(kind, target, document.get("TopicArn") if kind == SUBSCRIPTION else None)
    state.resources.append(
        Resource(kind, target, target, scope, _content(kind, document, is_emulator(env)), document, entry["path"])
    )


# --- deployed ----------------------------------------------------------------------------------------


def read(aws: Aws, scope: Scope) -> list[Deployed]:
    from compiler.deploy.deployed import Deployed

    readers = {
        QUEUE: _read_queue,
        SUBSCRIPTION: _read_subscription,
        PIPE: _read_pipe,
        SCHEDULE: _read_schedule,
        RULE: _read_rule,
    }
    content = readers[scope.kind](aws, scope)
    if content is None:
        return []
    return [Deployed(scope.kind, scope.target, scope.target, scope, content, content_hash(content))]


def _missing(problem: ClientError, *codes: str) -> bool:
    return error_code(problem) in codes


def _read_queue(aws: Aws, scope: Scope) -> dict[str, Any] | None:
    sqs = aws.client("sqs")
    try:
        url = sqs.get_queue_url(QueueName=scope.target)["QueueUrl"]
    except ClientError as problem:
        if _missing(problem, "AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"):
            return None
        raise
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"]).get("Attributes", {})
    kept = {name: value for name, value in attributes.items() if name in QUEUE_ATTRIBUTES}
    return _queue_content({"QueueName": scope.target, "Attributes": kept}, is_emulator(aws.environment))


def _read_subscription(aws: Aws, scope: Scope) -> dict[str, Any] | None:
    found = _subscription(aws, scope)
    if found is None:
        return None
    attributes = aws.client("sns").get_subscription_attributes(SubscriptionArn=found["SubscriptionArn"])["Attributes"]
    return {
        "TopicArn": scope.partition or found["TopicArn"],
        "Protocol": found["Protocol"],
        "Endpoint": scope.target,
        "Attributes": {"RawMessageDelivery": attributes.get("RawMessageDelivery", "false")},
    }


def _subscription(aws: Aws, scope: Scope) -> dict[str, Any] | None:
    """The topic's subscription whose endpoint is the queue (the queue ARN identifies it); without a topic
    (a subscription found by `publish --prune`'s listing), any SQS subscription of that queue."""
    sns = aws.client("sns")
    try:
        pages = (
            sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=scope.partition)
            if scope.partition
            else sns.get_paginator("list_subscriptions").paginate()
        )
        found = [s for page in pages for s in page["Subscriptions"] if s["Endpoint"] == scope.target]
    except ClientError as problem:
        if _missing(problem, "NotFound"):
            return None
        raise
    return dict(found[0]) if found else None


def _read_pipe(aws: Aws, scope: Scope) -> dict[str, Any] | None:
    try:
        reply = aws.client("pipes").describe_pipe(Name=scope.target)
    except ClientError as problem:
        if _missing(problem, "NotFoundException"):
            return None
        raise
    return {key: reply[key] for key in PIPE_KEYS if key in reply}


def _read_rule(aws: Aws, scope: Scope) -> dict[str, Any] | None:
    events = aws.client("events")
    try:
        rule = events.describe_rule(Name=scope.target)
    except ClientError as problem:
        if _missing(problem, "ResourceNotFoundException"):
            return None
        raise
    targets = [
        t for page in events.get_paginator("list_targets_by_rule").paginate(Rule=scope.target) for t in page["Targets"]
    ]
    return _rule_content({**{key: rule[key] for key in RULE_KEYS if key in rule}, "Targets": targets})


def _read_schedule(aws: Aws, scope: Scope) -> dict[str, Any] | None:
    try:
        reply = aws.client("scheduler").get_schedule(Name=scope.target)
    except ClientError as problem:
        if _missing(problem, "ResourceNotFoundException"):
            return None
        raise
    content = {key: reply[key] for key in SCHEDULE_KEYS if key in reply}
    target = dict(content.get("Target", {}))
    if "Input" in target:
        target["Input"] = json.loads(target["Input"])
    content["Target"] = target
    return content


# --- apply -------------------------------------------------------------------------------------------


def write(aws: Aws, change: Change) -> Outcome:
    from compiler.deploy.apply import Outcome

    document = change.payload
    if change.kind == QUEUE:
        sqs = aws.client("sqs")
        if change.action == "create":
            sqs.create_queue(
                QueueName=document["QueueName"],
                Attributes=document["Attributes"],
                tags=creation_tags(aws.environment.name),
            )
        else:
            url = sqs.get_queue_url(QueueName=document["QueueName"])["QueueUrl"]
            sqs.set_queue_attributes(QueueUrl=url, Attributes=document["Attributes"])
    elif change.kind == SUBSCRIPTION:
        sns = aws.client("sns")
        if change.action == "create":
            if is_emulator(aws.environment):
                # locally nothing else creates the producer's topic: a stand-in of the same name (idempotent)
                sns.create_topic(Name=document["TopicArn"].rsplit(":", 1)[1])
            sns.subscribe(**document)
        else:
            current = _subscription(aws, Scope(SUBSCRIPTION, document["Endpoint"], document["TopicArn"]))
            if current is None:
                return Outcome(change, "conflict", "the subscription is gone since the plan; plan again")
            for name, value in document["Attributes"].items():
                sns.set_subscription_attributes(
                    SubscriptionArn=current["SubscriptionArn"], AttributeName=name, AttributeValue=value
                )
    elif change.kind == PIPE:
        pipes = aws.client("pipes")
        if change.action == "create":
            pipes.create_pipe(**document, Tags=creation_tags(aws.environment.name))
        else:
            pipes.update_pipe(**{k: v for k, v in document.items() if k != "Source"})
    elif change.kind == RULE:
        events = aws.client("events")
        rule = {key: value for key, value in document.items() if key != "Targets"}
        if change.action == "create":
            rule["Tags"] = [{"Key": k, "Value": v} for k, v in creation_tags(aws.environment.name).items()]
        events.put_rule(**rule)
        events.put_targets(Rule=document["Name"], Targets=document["Targets"])
    else:
        scheduler = aws.client("scheduler")
        if change.action == "create":
            scheduler.create_schedule(**document)
        else:
            scheduler.update_schedule(**document)
    return Outcome(change, "applied")


def phase(change: Change) -> int:
    """After the state machines (4): dead-letter queues, then the queues that redrive to them, then what
    reads or writes queues (pipe, subscription, schedules)."""
    if change.kind == QUEUE:
        return 6 if "RedrivePolicy" in change.payload.get("Attributes", {}) else 5
    return 7
