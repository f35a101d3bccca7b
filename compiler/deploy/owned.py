"""The artifacts ndrc owns beyond DynamoDB items (state machines, pipelines, ...): finding the deployed ones the
build no longer has, and deleting them. One `OwnedKind` entry per artifact kind; a new kind is one entry.

ndrc owns a resource when both hold (never one alone):
- its name starts with the environment's `name_prefix` (an environment without one prunes nothing of these
  kinds: ndrc could not tell its resources from others in the account);
- it carries the tag `managed-by=ndrc` ndrc sets at create, and, if it carries `ndrc-environment`, that tag
  names this environment.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from compiler.deploy.aws import Aws, error_code

MANAGED_BY = ("managed-by", "ndrc")
Known = frozenset[str] | set[str]
ENVIRONMENT_TAG = "ndrc-environment"


def creation_tags(environment: str) -> dict[str, str]:
    """The tags ndrc sets on every state machine / pipeline it creates."""
    return {MANAGED_BY[0]: MANAGED_BY[1], ENVIRONMENT_TAG: environment}


def owns(tags: dict[str, str], environment: str) -> bool:
    return tags.get(MANAGED_BY[0]) == MANAGED_BY[1] and tags.get(ENVIRONMENT_TAG, environment) == environment


def state_machine_arn(aws: Aws, name: str) -> str:
    env = aws.environment
    partition = aws.session.get_partition_for_region(env.region)
    return f"arn:{partition}:states:{env.region}:{aws.identity()['account']}:stateMachine:{name}"


def _state_machines(aws: Aws, prefix: str, known: Known = frozenset()) -> Iterator[str]:
    client = aws.client("stepfunctions")
    for page in client.get_paginator("list_state_machines").paginate():
        for machine in page.get("stateMachines", []):
            name = str(machine["name"])
            if not name.startswith(prefix) or name in known:
                continue
            reply = client.list_tags_for_resource(resourceArn=machine["stateMachineArn"])
            if owns({t["key"]: t["value"] for t in reply.get("tags", [])}, aws.environment.name):
                yield name


def _delete_state_machine(aws: Aws, name: str) -> None:
    aws.client("stepfunctions").delete_state_machine(stateMachineArn=state_machine_arn(aws, name))


def _pipelines(aws: Aws, prefix: str, known: Known = frozenset()) -> Iterator[str]:
    client = aws.client("sagemaker")
    request: dict[str, Any] = {"PipelineNamePrefix": prefix, "MaxResults": 100}
    while True:
        reply = client.list_pipelines(**request)
        for summary in reply.get("PipelineSummaries", []):
            name = str(summary["PipelineName"])
            if not name.startswith(prefix) or name in known:  # the API matches a prefix; an emulator may match more
                continue
            tags = client.list_tags(ResourceArn=summary["PipelineArn"]).get("Tags", [])
            if owns({t["Key"]: t["Value"] for t in tags}, aws.environment.name):
                yield name
        if not reply.get("NextToken"):
            return
        request["NextToken"] = reply["NextToken"]


def _delete_pipeline(aws: Aws, name: str) -> None:
    token = hashlib.sha256(f"ndrc-delete-{name}".encode()).hexdigest()  # 64 characters: within 32-128
    try:
        aws.client("sagemaker").delete_pipeline(PipelineName=name, ClientRequestToken=token)
    except ClientError as problem:
        if error_code(problem) not in ("ResourceNotFound", "ValidationException"):
            raise


def _queue_urls(aws: Aws, prefix: str, known: Known = frozenset()) -> Iterator[tuple[str, str]]:
    """(name, url) of the prefixed queues carrying ndrc's tags, except the `known` ones."""
    sqs = aws.client("sqs")
    for page in sqs.get_paginator("list_queues").paginate(QueueNamePrefix=prefix):
        for url in page.get("QueueUrls", []):
            name = str(url).rsplit("/", 1)[-1]
            if (
                name.startswith(prefix)
                and name not in known
                and owns(sqs.list_queue_tags(QueueUrl=url).get("Tags", {}), aws.environment.name)
            ):
                yield name, str(url)


def _queues(aws: Aws, prefix: str, known: Known = frozenset()) -> Iterator[str]:
    for name, _ in _queue_urls(aws, prefix, known):
        yield name


def _delete_queue(aws: Aws, name: str) -> None:
    sqs = aws.client("sqs")
    sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName=name)["QueueUrl"])


def _subscriptions(aws: Aws, prefix: str, known: Known = frozenset()) -> Iterator[str]:
    """SNS subscriptions cannot be tagged: ndrc owns the SQS subscriptions whose endpoint is a queue it owns
    (the subscription is named by that queue's ARN, as in the build)."""
    owned = {name for name, _ in _queue_urls(aws, prefix)}
    for page in aws.client("sns").get_paginator("list_subscriptions").paginate():
        for subscription in page.get("Subscriptions", []):
            endpoint = str(subscription.get("Endpoint", ""))
            if subscription.get("Protocol") == "sqs" and endpoint.rsplit(":", 1)[-1] in owned and endpoint not in known:
                yield endpoint


def _delete_subscription(aws: Aws, endpoint: str) -> None:
    sns = aws.client("sns")
    for page in sns.get_paginator("list_subscriptions").paginate():
        for subscription in page.get("Subscriptions", []):
            if subscription.get("Endpoint") == endpoint and subscription.get("Protocol") == "sqs":
                sns.unsubscribe(SubscriptionArn=subscription["SubscriptionArn"])


def _pipes(aws: Aws, prefix: str, known: Known = frozenset()) -> Iterator[str]:
    client = aws.client("pipes")
    for page in client.get_paginator("list_pipes").paginate(NamePrefix=prefix):
        for pipe in page.get("Pipes", []):
            name = str(pipe["Name"])
            if not name.startswith(prefix) or name in known:
                continue
            if owns(client.list_tags_for_resource(resourceArn=pipe["Arn"]).get("tags", {}), aws.environment.name):
                yield name


def _delete_pipe(aws: Aws, name: str) -> None:
    aws.client("pipes").delete_pipe(Name=name)


def _rules(aws: Aws, prefix: str, known: Known = frozenset()) -> Iterator[str]:
    client = aws.client("events")
    for page in client.get_paginator("list_rules").paginate(NamePrefix=prefix):
        for rule in page.get("Rules", []):
            name = str(rule["Name"])
            if not name.startswith(prefix) or name in known:
                continue
            tags = client.list_tags_for_resource(ResourceARN=rule["Arn"]).get("Tags", [])
            if owns({t["Key"]: t["Value"] for t in tags}, aws.environment.name):
                yield name


def _delete_rule(aws: Aws, name: str) -> None:
    """A rule with targets cannot be deleted: its targets first."""
    client = aws.client("events")
    ids = [
        t["Id"] for page in client.get_paginator("list_targets_by_rule").paginate(Rule=name) for t in page["Targets"]
    ]
    if ids:
        client.remove_targets(Rule=name, Ids=ids)
    client.delete_rule(Name=name)


SCHEDULE_GROUP = "default"
SCHEDULE_DESCRIPTION = "ndrc: "  # compiler/orchestration/wiring.py starts every schedule's description so


def _schedules(aws: Aws, prefix: str, known: Known = frozenset()) -> Iterator[str]:
    """EventBridge Scheduler tags schedule groups, not schedules: ndrc owns a prefixed schedule of the group it
    writes to whose description is ndrc's and whose target starts a pipeline of the same prefix."""
    client = aws.client("scheduler")
    for page in client.get_paginator("list_schedules").paginate(NamePrefix=prefix, GroupName=SCHEDULE_GROUP):
        for summary in page.get("Schedules", []):
            name = str(summary["Name"])
            if not name.startswith(prefix) or name in known:
                continue
            schedule = client.get_schedule(Name=name, GroupName=SCHEDULE_GROUP)
            try:
                pipeline = str(json.loads(schedule.get("Target", {}).get("Input", "{}")).get("PipelineName", ""))
            except (ValueError, AttributeError):
                continue
            if str(schedule.get("Description", "")).startswith(SCHEDULE_DESCRIPTION) and pipeline.startswith(prefix):
                yield name


def _delete_schedule(aws: Aws, name: str) -> None:
    aws.client("scheduler").delete_schedule(Name=name, GroupName=SCHEDULE_GROUP)


@dataclass(frozen=True)
class OwnedKind:
    kind: str
    noun: str  # for messages: "state machine(s)"
    # names of the deployed ones ndrc owns (prefix + tags), except the `known` names (those the build has: they
    # are read anyway and never pruned, so their ownership is not checked — one call each saved, e.g. a
    # GetSchedule per schedule)
    list_owned: Callable[[Aws, str, Known], Iterator[str]]
    delete: Callable[[Aws, str], None]
    delete_phase: int  # publish deletes in this order (state machines before the pipelines they start)


OWNED_KINDS: dict[str, OwnedKind] = {
    kind.kind: kind
    for kind in (
        OwnedKind("state_machine", "state machine(s)", _state_machines, _delete_state_machine, 8),
        OwnedKind("sagemaker_pipeline", "SageMaker pipeline(s)", _pipelines, _delete_pipeline, 9),
        # the starters first (pipe, schedules, subscription), then the queues they read or write
        OwnedKind("pipe", "EventBridge pipe(s)", _pipes, _delete_pipe, 6),
        OwnedKind("schedule", "Scheduler schedule(s)", _schedules, _delete_schedule, 6),
        OwnedKind("sns_subscription", "SNS subscription(s)", _subscriptions, _delete_subscription, 6),
        OwnedKind("event_rule", "EventBridge rule(s)", _rules, _delete_rule, 6),
        OwnedKind("sqs_queue", "SQS queue(s)", _queues, _delete_queue, 7),
    )
}
OWNED_SCOPE = "owned"
