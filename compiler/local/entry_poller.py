"""The local stand-in for the EventBridge Pipes service: applies the *published* entry pipe (SQS -> live state
machine) on the emulator, which stores pipes but runs none.

It reads the pipe as `ndrc publish` created it (`DescribePipe`), receives from its `Source` queue, hands each
batch to its `Target` exactly as Pipes does for an SQS source with neither filter nor input template
(`compiler.orchestration.wiring.pipe_batch`: one JSON array of SQS records per `BatchSize`), and, the target
being STANDARD with `FIRE_AND_FORGET`, deletes the messages once `StartExecution` succeeded. A message whose
execution cannot start stays in the queue (visible again after the queue's visibility timeout), as with Pipes.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from compiler.deploy.aws import Aws, translated
from compiler.errors import UsageError
from compiler.orchestration.names import LIVE_ENTRY, Orchestration
from compiler.orchestration.wiring import pipe_batch

RECEIVE_MAX = 10  # SQS ReceiveMessage returns at most 10 messages


@dataclass(frozen=True)
class Delivery:
    """One target invocation: the execution started and the messages it carried."""

    execution_arn: str
    message_ids: tuple[str, ...]


def published_pipe(aws: Aws, orchestration: Orchestration) -> dict[str, Any]:
    """The entry pipe as the environment holds it (what publish created), not as the workspace compiles it now."""
    name = orchestration.name(LIVE_ENTRY)
    pipes = aws.client("pipes")
    try:
        return dict(pipes.describe_pipe(Name=name))
    except pipes.exceptions.NotFoundException:
        raise UsageError(f"the entry pipe {name} is not published in this environment; run `ndrc publish`") from None


def _queue_url(aws: Aws, queue_arn: str) -> str:
    _, _, _, _, account, name = queue_arn.split(":", 5)
    with translated(f"find the pipe's source queue {name}"):
        return str(aws.client("sqs").get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"])


def poll_once(aws: Aws, pipe: dict[str, Any], wait_seconds: int = 0) -> list[Delivery]:
    """Receive what the source queue holds now (up to 10 messages) and start one target execution per batch."""
    if pipe.get("DesiredState", "RUNNING") != "RUNNING":
        return []
    sqs, sfn = aws.client("sqs"), aws.client("stepfunctions")
    url = _queue_url(aws, pipe["Source"])
    with translated("receive from the pipe's source queue"):
        messages = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=RECEIVE_MAX,
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
    deliveries = []
    by_handle = {message["ReceiptHandle"]: message for message in messages}
    for batch in pipe_batch(pipe, messages, aws.environment.region):
        with translated(f"start {pipe['Target'].rsplit(':', 1)[-1]}"):
            started = sfn.start_execution(
                stateMachineArn=pipe["Target"], name=uuid.uuid4().hex, input=json.dumps(batch)
            )
        for record in batch:
            with translated("delete a delivered message"):
                sqs.delete_message(QueueUrl=url, ReceiptHandle=by_handle[record["receiptHandle"]]["ReceiptHandle"])
        deliveries.append(Delivery(str(started["executionArn"]), tuple(record["messageId"] for record in batch)))
    return deliveries


def drain(aws: Aws, pipe: dict[str, Any]) -> list[Delivery]:
    """Poll until a receive finds the source queue empty (messages still delayed by the machine's redrive are
    left for a later poll)."""
    deliveries: list[Delivery] = []
    while found := poll_once(aws, pipe):
        deliveries += found
    return deliveries
