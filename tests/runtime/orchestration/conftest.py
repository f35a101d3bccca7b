"""Real Step Functions task tokens from the emulator, for the jobs that report back to a waiting flow."""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from runtime.contract import LOCK_TABLE_ENV


@dataclass
class TaskTokens:
    endpoint: str

    def start(self) -> tuple[Any, str, str]:
        """A state machine waiting on a task token (sqs:sendMessage.waitForTaskToken): (client, execution, token)."""
        sqs = boto3.client("sqs", endpoint_url=self.endpoint)
        sfn = boto3.client("stepfunctions", endpoint_url=self.endpoint)
        queue = sqs.create_queue(QueueName=f"tokens-{time.monotonic_ns()}")["QueueUrl"]
        definition = {
            "StartAt": "Wait",
            "States": {
                "Wait": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                    "Parameters": {"QueueUrl": queue, "MessageBody": {"token.$": "$$.Task.Token"}},
                    "End": True,
                }
            },
        }
        machine = sfn.create_state_machine(
            name=f"waiting-{time.monotonic_ns()}",
            definition=json.dumps(definition),
            roleArn="arn:aws:iam::123456789012:role/sfn",
        )["stateMachineArn"]
        execution = sfn.start_execution(stateMachineArn=machine, input="{}")["executionArn"]
        for _ in range(30):
            messages = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1).get("Messages", [])
            if messages:
                return sfn, execution, json.loads(messages[0]["Body"])["token"]
        raise AssertionError(f"no task token: {sfn.describe_execution(executionArn=execution)}")

    def store(self, token: str, monkeypatch: pytest.MonkeyPatch) -> str:
        """Store `token` like the backfill state machine does (lock table, `callback#<name>`): its key."""
        ddb = boto3.client("dynamodb", endpoint_url=self.endpoint)
        table = "callback-locks"
        # Not list_tables: it pages at 100 names, and the shared emulator holds more by now; an earlier test of
        # this session may have made the table already.
        with contextlib.suppress(ddb.exceptions.ResourceInUseException):
            ddb.create_table(
                TableName=table,
                KeySchema=[{"AttributeName": "lock_key", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "lock_key", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
        key = f"callback#{time.monotonic_ns()}"
        ddb.put_item(TableName=table, Item={"lock_key": {"S": key}, "task_token": {"S": token}})
        monkeypatch.setenv(LOCK_TABLE_ENV, table)
        return key

    @staticmethod
    def finished(sfn: Any, execution: str) -> dict[str, Any]:
        for _ in range(100):
            described = sfn.describe_execution(executionArn=execution)
            if described["status"] != "RUNNING":
                return dict(described)
            time.sleep(0.1)
        raise AssertionError("execution still running")


@pytest.fixture
def task_tokens(emulator_endpoint: str, aws_env: str) -> TaskTokens:
    return TaskTokens(emulator_endpoint)
