"""Publish creates and updates the wiring (queues, subscription, pipe, schedules) on a moto server over HTTP."""

from __future__ import annotations

import json
import shutil

import pytest
import yaml
from publish_helpers import REPO_ROOT, Sandbox

from compiler.deploy.publish import make_plan, publish
from compiler.errors import UsageError

pytestmark = pytest.mark.emulator
WIRING = {"sqs_queue", "sns_subscription", "pipe", "schedule", "event_rule"}


@pytest.fixture
def workspace(provisioned: Sandbox) -> Sandbox:
    shutil.copytree(REPO_ROOT / "specs", provisioned.root / "specs")
    return provisioned


def test_publish_creates_the_wiring_then_a_second_publish_changes_nothing(workspace: Sandbox) -> None:
    aws, calls = workspace.aws()
    impact = {(c.kind, c.target): c.impact for c in make_plan(workspace.workspace, "local", aws=aws).changes}
    assert impact["schedule", workspace.name("fg-b-baseline-ndr-prod-v1")] == [
        {
            "kind": "pipeline",
            "affects": workspace.name("fg-b-baseline"),
            "why": f"{workspace.name('fg-b-baseline')}: started by {workspace.name('fg-b-baseline-ndr-prod-v1')} for "
            "ndr-prod on cron(30 0 * * ? *) (UTC)",
        }
    ]
    assert impact["sqs_queue", workspace.name("live-entry")][0]["why"].startswith(
        f"{workspace.name('live-entry')}: queue on the live entry of {workspace.name('live-inference')}"
    )
    first = publish(workspace.workspace, "local", aws=aws)
    assert first.ok, [(o.change.kind, o.change.target, o.message) for o in first.outcomes if not o.ok]
    created = sorted((o.change.kind, o.change.target) for o in first.outcomes if o.change.kind in WIRING)
    queue, dead_letter = workspace.name("live-entry"), workspace.name("live-entry-dlq")
    assert ("sqs_queue", dead_letter) in created and ("sqs_queue", queue) in created
    assert ("pipe", queue) in created and sum(kind == "schedule" for kind, _ in created) == 6
    assert ("event_rule", workspace.name("live-outcome")) in created

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

    calls.reset()
    again = make_plan(workspace.workspace, "local", aws=aws)
    assert [(c.target, c.fields) for c in again.changes if c.kind in WIRING] == []
    # each built schedule is read once: the owned listing does not check the ownership of what the build has
    assert calls.count("scheduler.GetSchedule") == 6


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


def _drop_from_local_environment(sandbox: Sandbox, *path: str) -> None:
    config = yaml.safe_load((sandbox.root / "ndrc.yaml").read_text())
    node = config["environments"]["local"]
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    (sandbox.root / "ndrc.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def test_wiring_the_build_no_longer_has_is_deleted_only_with_prune_and_never_a_foreign_one(
    workspace: Sandbox,
) -> None:
    aws, _ = workspace.aws()
    assert publish(workspace.workspace, "local", aws=aws).ok
    sqs, sns = aws.client("sqs"), aws.client("sns")
    # look-alikes ndrc does not own: a prefixed but untagged queue, subscribed to the producer topic
    foreign_url = sqs.create_queue(QueueName=workspace.name("theirs"))["QueueUrl"]
    foreign_arn = sqs.get_queue_attributes(QueueUrl=foreign_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=workspace.env.get("entry.topic_arn"), Protocol="sqs", Endpoint=foreign_arn)

    _drop_from_local_environment(workspace, "roles", "pipe")  # no pipe role: the build has no pipe
    plan = make_plan(workspace.workspace, "local", aws=aws)
    assert [(c.action, c.kind, c.target) for c in plan.changes if c.kind in WIRING] == [
        ("delete", "pipe", workspace.name("live-entry"))
    ]
    (pipe_delete,) = [c for c in plan.changes if c.kind == "pipe"]
    assert pipe_delete.impact == [
        {
            "kind": "state_machine",
            "affects": workspace.name("live-inference"),
            "why": f"{workspace.name('live-entry')}: no longer in the build; producer events stay in the entry queue "
            "(then its dead-letter queue) and start no execution",
        }
    ]
    assert plan.deleted_kinds == ["pipe"]  # the only pipe: deleting it needs --delete-kind too
    with pytest.raises(UsageError, match="--delete-kind pipe"):
        publish(workspace.workspace, "local", aws=aws, prune=True)
    assert publish(workspace.workspace, "local", aws=aws, prune=True, delete_kinds=frozenset({"pipe"})).ok
    assert aws.client("pipes").list_pipes(NamePrefix=workspace.name(""))["Pipes"] == []

    topic = workspace.env.get("entry.topic_arn")
    _drop_from_local_environment(workspace, "entry", "topic_arn")  # no producer topic: no subscription
    _drop_from_local_environment(workspace, "roles", "scheduler")  # no scheduler role: no schedules, no their DLQ
    plan = make_plan(workspace.workspace, "local", aws=aws)
    deleted = sorted((c.kind, c.target) for c in plan.changes if c.action == "delete" and c.kind in WIRING)
    assert [target for kind, target in deleted if kind == "sqs_queue"] == [workspace.name("schedules-dlq")]
    assert sum(kind == "schedule" for kind, _ in deleted) == 6
    assert [target for kind, target in deleted if kind == "sns_subscription"] == [
        foreign_arn.replace("theirs", "live-entry")
    ]
    assert set(plan.deleted_kinds) == {"schedule", "sns_subscription"}  # a queue stays: not every one goes
    assert publish(workspace.workspace, "local", aws=aws, prune=True, delete_kinds=frozenset(plan.deleted_kinds)).ok
    queues = sorted(sqs.list_queues(QueueNamePrefix=workspace.name("")).get("QueueUrls", []))
    assert [url.rsplit("/", 1)[1] for url in queues] == [
        workspace.name(n) for n in ("live-entry", "live-entry-dlq", "theirs")
    ]
    endpoints = {
        s["Endpoint"]
        for s in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
        if workspace.uid in s["Endpoint"]
    }
    assert endpoints == {foreign_arn}
    assert aws.client("scheduler").list_schedules(NamePrefix=workspace.name(""))["Schedules"] == []
    assert not [c for c in make_plan(workspace.workspace, "local", aws=aws).changes if c.kind in WIRING]


def test_the_live_outcome_rule_is_published_compared_and_pruned_but_never_a_foreign_rule(workspace: Sandbox) -> None:
    aws, _ = workspace.aws()
    assert publish(workspace.workspace, "local", aws=aws).ok
    events = aws.client("events")
    rule = events.describe_rule(Name=workspace.name("live-outcome"))
    assert json.loads(rule["EventPattern"])["detail"]["currentPipelineExecutionStatus"] == ["Failed", "Stopped"]
    [target] = events.list_targets_by_rule(Rule=workspace.name("live-outcome"))["Targets"]
    assert target["Arn"].endswith(":stateMachine:" + workspace.name("live-outcome"))
    assert target["RoleArn"] == workspace.env.get("roles.events")
    events.put_rule(Name=workspace.name("their-rule"), EventPattern=json.dumps({"source": ["aws.sagemaker"]}))

    events.put_rule(
        Name=workspace.name("live-outcome"),
        EventPattern=rule["EventPattern"],
        State="DISABLED",
        Description=rule["Description"],
    )  # someone disables it in the console
    (change,) = [c for c in make_plan(workspace.workspace, "local", aws=aws).changes if c.kind in WIRING]
    assert (change.action, change.kind, [f["path"] for f in change.fields]) == ("update", "event_rule", ["State"])
    assert publish(workspace.workspace, "local", aws=aws).ok
    assert events.describe_rule(Name=workspace.name("live-outcome"))["State"] == "ENABLED"

    _drop_from_local_environment(workspace, "roles", "events")  # no events role: no rule
    plan = make_plan(workspace.workspace, "local", aws=aws)
    assert [(c.action, c.kind, c.target) for c in plan.changes if c.kind in WIRING] == [
        ("delete", "event_rule", workspace.name("live-outcome"))
    ]
    assert plan.deleted_kinds == ["event_rule"]
    assert publish(workspace.workspace, "local", aws=aws, prune=True, delete_kinds=frozenset({"event_rule"})).ok
    assert [r["Name"] for r in events.list_rules(NamePrefix=workspace.name(""))["Rules"]] == [
        workspace.name("their-rule")
    ]
