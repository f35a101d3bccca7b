"""Publish creates and updates the wiring (queues, subscription, pipe, schedules) on a moto server over HTTP."""

from __future__ import annotations

import json
import shutil

import pytest
from publish_helpers import REPO_ROOT, Sandbox

from compiler.deploy.publish import make_plan, publish

pytestmark = pytest.mark.emulator
WIRING = {"sqs_queue", "sns_subscription", "pipe", "schedule"}


@pytest.fixture
def workspace(provisioned: Sandbox) -> Sandbox:
    shutil.copytree(REPO_ROOT / "specs", provisioned.root / "specs")
    return provisioned


def test_publish_creates_the_wiring_then_a_second_publish_changes_nothing(workspace: Sandbox) -> None:
    aws, _ = workspace.aws()
    first = publish(workspace.workspace, "local", aws=aws)
    assert first.ok, [(o.change.kind, o.change.target, o.message) for o in first.outcomes if not o.ok]
    created = sorted((o.change.kind, o.change.target) for o in first.outcomes if o.change.kind in WIRING)
    queue, dead_letter = workspace.name("live-entry"), workspace.name("live-entry-dlq")
    assert ("sqs_queue", dead_letter) in created and ("sqs_queue", queue) in created
    assert ("pipe", queue) in created and sum(kind == "schedule" for kind, _ in created) == 6

    sqs = aws.client("sqs")
    url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    redrive = json.loads(attributes["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"].endswith(":" + dead_letter) and int(redrive["maxReceiveCount"]) == 5
    topic = workspace.env.get("entry.topic_arn")
    subscriptions = aws.client("sns").list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    (mine,) = [s for s in subscriptions if s["Endpoint"] == attributes["QueueArn"]]
    raw = aws.client("sns").get_subscription_attributes(SubscriptionArn=mine["SubscriptionArn"])["Attributes"]
    assert raw["RawMessageDelivery"] == "true"
    pipe = aws.client("pipes").describe_pipe(Name=queue)
    assert pipe["Source"] == attributes["QueueArn"] and pipe["Target"].endswith(":" + workspace.name("live-inference"))
    assert pipe["TargetParameters"] == {"StepFunctionStateMachineParameters": {"InvocationType": "FIRE_AND_FORGET"}}
    schedule = aws.client("scheduler").get_schedule(Name=workspace.name("fg-b-baseline-ndr-prod-v1"))
    assert schedule["FlexibleTimeWindow"] == {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 60}
    assert schedule["Target"]["DeadLetterConfig"]["Arn"].endswith(":" + workspace.name("schedules-dlq"))

    again = make_plan(workspace.workspace, "local", aws=aws)
    assert [(c.target, c.fields) for c in again.changes if c.kind in WIRING] == []


def test_a_queue_changed_outside_ndrc_is_planned_back(workspace: Sandbox) -> None:
    aws, _ = workspace.aws()
    assert publish(workspace.workspace, "local", aws=aws).ok
    sqs = aws.client("sqs")
    url = sqs.get_queue_url(QueueName=workspace.name("live-entry"))["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "7"})
    plan = make_plan(workspace.workspace, "local", aws=aws)
    (change,) = [c for c in plan.changes if c.kind in WIRING]
    assert change.action == "update"
    # (moto 5.2.5 also drops the queue's Policy on SetQueueAttributes; AWS keeps attributes not named)
    assert {"path": "Attributes.VisibilityTimeout", "change": "changed", "old": '"7"', "new": '"300"'} in change.fields
    assert publish(workspace.workspace, "local", aws=aws).ok
    assert [c for c in make_plan(workspace.workspace, "local", aws=aws).changes if c.kind in WIRING] == []
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])["Attributes"] == {
        "VisibilityTimeout": "300"
    }
