"""The compiled live entry, end to end on a moto server over HTTP: an S3 notification published to the
producer topic, delivered by the compiled subscription to the compiled queue, handed to the live state
machine as the compiled pipe would (`pipe_batch`), then requeued or dead-lettered by the machine."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from orchestration_harness import REGION, Deployment, Run, pipeline_executions, pipeline_parameters, wait_all

from compiler.compilation.compile import CompileResult
from compiler.orchestration.wiring import ATTEMPT_ATTRIBUTE, ERROR_ATTRIBUTE, pipe_batch

pytestmark = pytest.mark.emulator
EVENT_TIME = "2025-03-04T05:06:07.250Z"


def _document(build: Path, suffix: str) -> dict[str, Any]:
    (path,) = sorted((build / "wiring").glob(f"*{suffix}"))
    return dict(json.loads(path.read_text()))


def s3_notification(key: str, event: str = "ObjectCreated:Put", when: str = EVENT_TIME) -> dict[str, Any]:
    """An S3 event notification as S3 publishes it (version 2.1; the key URL-encoded by S3)."""
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": REGION,
                "eventTime": when,
                "eventName": event,
                "userIdentity": {"principalId": "AWS:AIDAEXAMPLE"},
                "requestParameters": {"sourceIPAddress": "10.0.0.1"},
                "responseElements": {"x-amz-request-id": "C3D13FE58DE4C810", "x-amz-id-2": "FMyUVURIY8/IgAtTv8x"},
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "ndr-batches",
                    "bucket": {
                        "name": "ndr-ingestion-local",
                        "ownerIdentity": {"principalId": "A3NL1KOZZKExample"},
                        "arn": "arn:aws:s3:::ndr-ingestion-local",
                    },
                    "object": {
                        "key": key,
                        "size": 1024,
                        "eTag": "d41d8cd98f00b204e9800998ecf8427e",
                        "sequencer": "0055AED6DCD90281E5",
                    },
                },
            }
        ]
    }


TEST_EVENT = {
    "Service": "Amazon S3",
    "Event": "s3:TestEvent",
    "Time": "2025-03-04T05:00:00.000Z",
    "Bucket": "ndr-ingestion-local",
    "RequestId": "5582815E1AEA5ADF",
    "HostId": "8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE",
}


class Entry:
    """The compiled queues, subscription and pipe created on the test's moto server."""

    def __init__(self, deployment: Deployment, build: Path) -> None:
        self.deployment = deployment
        self.sqs, self.sns = deployment.client("sqs"), deployment.client("sns")
        self.pipe = _document(build, ".pipe.json")
        self.urls = {}
        for suffix in ("live-entry-dlq.queue.json", "live-entry.queue.json"):
            queue = _document(build, suffix)
            self.urls[queue["QueueName"]] = self.sqs.create_queue(**queue)["QueueUrl"]
        self.queue, self.dead_letter = (self.urls[n] for n in sorted(self.urls, key=len))
        subscription = _document(build, ".subscription.json")
        self.topic = self.sns.create_topic(Name=subscription["TopicArn"].rsplit(":", 1)[1])["TopicArn"]
        assert self.topic == subscription["TopicArn"]
        self.sns.subscribe(**subscription)

    def receive(self, url: str | None = None) -> list[dict[str, Any]]:
        reply = self.sqs.receive_message(
            QueueUrl=url or self.queue,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=2,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return list(reply.get("Messages", []))

    def deliver(self, messages: list[dict[str, Any]], machine: str | None = None, delete: bool = True) -> list[Run]:
        """What the pipe does with received messages: one execution per batch (FIRE_AND_FORGET), then the
        messages are deleted from the queue."""
        sfn = self.deployment.client("stepfunctions")
        arns = []
        for batch in pipe_batch(self.pipe, messages, REGION):
            arns.append(
                sfn.start_execution(
                    stateMachineArn=machine or self.deployment.state_machines["live"],
                    name=uuid.uuid4().hex,
                    input=json.dumps(batch),
                )["executionArn"]
            )
        for message in messages if delete else []:
            self.sqs.delete_message(QueueUrl=self.queue, ReceiptHandle=message["ReceiptHandle"])
        return wait_all(sfn, arns)

    def publish(self, message: dict[str, Any]) -> list[dict[str, Any]]:
        self.sns.publish(TopicArn=self.topic, Message=json.dumps(message), Subject="Amazon S3 Notification")
        return self.receive()


@pytest.fixture(scope="module")
def entry(deployment: Deployment, compile_result: CompileResult) -> Entry:
    return Entry(deployment, compile_result.out_dir)


def test_an_s3_notification_through_sns_and_sqs_starts_one_pipeline(entry: Entry) -> None:
    # S3 URL-encodes keys in notifications: '=' as %3D, '+' as %2B, a space as '+'
    key = "paloalto/globex/hq/ndr-prod/2025/03/04/batch%3D7%2Bx/part+0.json.gz"
    messages = entry.publish(s3_notification(key))
    assert len(messages) == 1 and json.loads(messages[0]["Body"])["Records"][0]["s3"]["object"]["key"] == key  # raw
    sagemaker = entry.deployment.client("sagemaker")
    pipeline = entry.deployment.pipeline("feature-15m")
    before = set(pipeline_executions(sagemaker, pipeline))
    [run] = entry.deliver(messages)
    assert run.status == "SUCCEEDED", (run.error, run.cause)
    [started] = set(pipeline_executions(sagemaker, pipeline)) - before
    parameters = pipeline_parameters(sagemaker, started)
    assert parameters["MiniBatchId"] == "batch=7+x"
    assert (
        parameters["MiniBatchS3Prefix"] == "s3://ndr-ingestion-local/paloalto/globex/hq/ndr-prod/2025/03/04/batch=7+x/"
    )
    # the producer's eventTime, not the SNS or SQS timestamps
    assert (parameters["BatchStartTsIso"], parameters["BatchEndTsIso"]) == ("2025-03-04T04:53:00Z", EVENT_TIME)
    assert entry.receive() == [] and entry.receive(entry.dead_letter) == []

    # SNS redelivers the same message (at-least-once): same eventTime, same lock key -> Duplicate
    again = entry.publish(s3_notification(key))
    [duplicate] = entry.deliver(again)
    assert duplicate.status == "SUCCEEDED" and duplicate.states[-1] == "Duplicate"
    assert set(pipeline_executions(sagemaker, pipeline)) - before == {started}


def test_the_sns_envelope_is_read_when_raw_delivery_is_off(entry: Entry) -> None:
    url = entry.sqs.create_queue(QueueName="envelope-" + uuid.uuid4().hex[:8])["QueueUrl"]
    arn = entry.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    entry.sns.subscribe(TopicArn=entry.topic, Protocol="sqs", Endpoint=arn)
    key = "paloalto/globex/hq/ndr-prod/2025/03/04/envelope1/part-0.json.gz"
    entry.sns.publish(TopicArn=entry.topic, Message=json.dumps(s3_notification(key, when="2025-03-04T06:00:00Z")))
    entry.receive()  # the raw copy on the entry queue
    for message in entry.receive():
        entry.sqs.delete_message(QueueUrl=entry.queue, ReceiptHandle=message["ReceiptHandle"])
    messages = entry.receive(url)
    assert json.loads(messages[0]["Body"])["Type"] == "Notification"  # the envelope
    sfn = entry.deployment.client("stepfunctions")
    [batch] = pipe_batch(entry.pipe, messages, REGION)
    execution = sfn.start_execution(
        stateMachineArn=entry.deployment.state_machines["live"], name=uuid.uuid4().hex, input=json.dumps(batch)
    )
    [run] = wait_all(sfn, [execution["executionArn"]])
    assert run.status == "SUCCEEDED" and run.states[-1] == "StartPipeline", (run.error, run.cause)


def test_s3_test_events_and_non_creation_events_are_ignored(entry: Entry) -> None:
    sagemaker = entry.deployment.client("sagemaker")
    pipeline = entry.deployment.pipeline("feature-15m")
    before = set(pipeline_executions(sagemaker, pipeline))
    key = "paloalto/globex/hq/ndr-prod/2025/03/04/removed/part-0.json.gz"
    messages = entry.publish(TEST_EVENT) + entry.publish(s3_notification(key, event="ObjectRemoved:Delete"))
    runs = entry.deliver(messages)
    assert [(r.status, r.states[-1], r.output) for r in runs] == [
        ("SUCCEEDED", "Ignored", {"status": "ignored", "reason": "s3:TestEvent"}),
        ("SUCCEEDED", "Ignored", {"status": "ignored", "reason": "S3 event ObjectRemoved:Delete"}),
    ]
    assert set(pipeline_executions(sagemaker, pipeline)) == before
    assert entry.receive(entry.dead_letter) == []


def test_the_event_s_own_failures_are_dead_lettered_with_the_original_body(entry: Entry) -> None:
    messages = entry.publish(s3_notification("paloalto/nowhere/none/nobody/2025/03/04/b/p.json.gz"))
    body = messages[0]["Body"]
    [run] = entry.deliver(messages)
    assert (run.status, run.error) == ("FAILED", "UnknownProject")
    assert run.states[-4:] == ["Redeliver", "DeadLetter", "Failed", "UnknownProject"]
    [dead] = entry.receive(entry.dead_letter)
    assert dead["Body"] == body  # replayable with SQS's dead-letter queue redrive
    assert dead["MessageAttributes"][ERROR_ATTRIBUTE]["StringValue"] == "UnknownProject"
    entry.sqs.delete_message(QueueUrl=entry.dead_letter, ReceiptHandle=dead["ReceiptHandle"])


def test_a_transient_failure_requeues_with_a_delay_until_attempts_run_out(entry: Entry) -> None:
    """A copy of the live machine whose pipeline does not exist: StartPipeline fails (PipelineStartFailed)."""
    sfn = entry.deployment.client("stepfunctions")
    live = entry.deployment.state_machines["live"]
    definition = sfn.describe_state_machine(stateMachineArn=live)["definition"]
    pipeline = json.dumps(entry.deployment.pipeline("feature-15m"))
    broken = sfn.create_state_machine(
        name="live-entry-broken-" + uuid.uuid4().hex[:6],
        definition=definition.replace(pipeline, json.dumps("no-such-pipeline")),
        roleArn="arn:aws:iam::123456789012:role/sfn",
    )["stateMachineArn"]
    key = "paloalto/globex/hq/ndr-prod/2025/03/04/transient1/part-0.json.gz"
    # (the lock is per project, version and window: a time of its own, not the other tests')
    messages = entry.publish(s3_notification(key, when="2025-03-04T07:00:00Z"))
    [run] = entry.deliver(messages, broken)
    assert (run.status, run.error) == ("FAILED", "PipelineStartFailed"), run.states
    assert run.states[-4:] == ["Redeliver", "Requeue", "Failed", "PipelineStartFailed"]
    delayed = entry.sqs.get_queue_attributes(QueueUrl=entry.queue, AttributeNames=["All"])["Attributes"]
    assert delayed["ApproximateNumberOfMessagesDelayed"] == "1"  # DelaySeconds 60 on attempt 1
    scheduled = [e["taskScheduledEventDetails"] for e in run.events if e["type"] == "TaskScheduled"]
    requeue = next(d for d in scheduled if d["resourceType"] == "sqs")
    sent = json.loads(requeue["parameters"])
    assert sent["DelaySeconds"] == 60 and sent["MessageAttributes"][ATTEMPT_ATTRIBUTE]["StringValue"] == "2"
    assert sent["MessageBody"] == messages[0]["Body"]
    assert sent["QueueUrl"] == "https://sqs.us-east-1.amazonaws.com/123456789012/ndr-local-live-entry"
    entry.sqs.purge_queue(QueueUrl=entry.queue)

    # the last attempt (ndrc-attempt = entry_max_attempts) goes to the dead-letter queue instead
    last = dict(messages[0], MessageAttributes={ATTEMPT_ATTRIBUTE: {"DataType": "Number", "StringValue": "5"}})
    [final] = entry.deliver([last], broken, delete=False)
    assert final.states[-4:] == ["Redeliver", "DeadLetter", "Failed", "PipelineStartFailed"]
    [dead] = entry.receive(entry.dead_letter)
    assert dead["Body"] == messages[0]["Body"]
    assert dead["MessageAttributes"][ERROR_ATTRIBUTE]["StringValue"] == "PipelineStartFailed"
    entry.sqs.delete_message(QueueUrl=entry.dead_letter, ReceiptHandle=dead["ReceiptHandle"])


@pytest.mark.parametrize(
    ("body", "cause"),
    [
        ("not json", "the message body is not a JSON object"),
        ({"Records": s3_notification("a/b")["Records"] * 2}, "expected one S3 record per message, found 2"),
        (s3_notification("paloalto/globex/hq/ndr-prod/2025/03/04/x%ZZ/p.json.gz"), "is not URL-encoded text"),
        ({"hello": "world"}, "neither an S3 event notification nor a producer payload"),
    ],
)
def test_messages_that_fit_no_form_fail_in_invalid_event_and_are_dead_lettered(
    entry: Entry, body: Any, cause: str
) -> None:
    message = {
        "MessageId": uuid.uuid4().hex,
        "ReceiptHandle": "r",
        "MD5OfBody": "0" * 32,
        "Body": body if isinstance(body, str) else json.dumps(body),
    }
    [run] = entry.deliver([message], delete=False)
    assert (run.status, run.error) == ("FAILED", "InvalidEvent") and cause in (run.cause or ""), run.cause
    [dead] = entry.receive(entry.dead_letter)
    assert dead["Body"] == message["Body"]
    entry.sqs.delete_message(QueueUrl=entry.dead_letter, ReceiptHandle=dead["ReceiptHandle"])
