"""Step Functions task-token callbacks: SendTaskSuccess with an output, SendTaskFailure with a cause.

The token never travels as a container argument (AWS limits each to 256 characters; real tokens are
longer, and pipeline parameters are returned by Describe calls): the backfill state machine stores it in
the lock table under a short callback key (`callback#<execution name>`) and passes the key.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from botocore.exceptions import ClientError

from runtime.contract import LOCK_KEY_ATTRIBUTE, LOCK_TABLE_ENV, LOCK_TASK_TOKEN_ATTRIBUTE
from runtime.errors import CallbackError
from runtime.jsonlog import log

MAX_OUTPUT_BYTES = 256 * 1024
MAX_CAUSE_CHARS = 32768
MAX_ERROR_CHARS = 256


def stepfunctions_client() -> Any:
    import boto3

    return boto3.client("stepfunctions")


def encode_output(output: dict[str, Any]) -> str:
    body = json.dumps(output, separators=(",", ":"), sort_keys=True)
    size = len(body.encode("utf-8"))
    if size > MAX_OUTPUT_BYTES:
        count = len(output.get("windows", []))
        raise CallbackError(
            f"task output of {count} windows is {size} bytes, over the {MAX_OUTPUT_BYTES}-byte Step Functions "
            "limit; narrow the date range (the full list is in the windows JSON on the output prefix)"
        )
    return body


def send_success(task_token: str, output: dict[str, Any], client: Any = None) -> None:
    body = encode_output(output)
    client = client or stepfunctions_client()
    try:
        client.send_task_success(taskToken=task_token, output=body)
    except ClientError as err:
        code = err.response.get("Error", {}).get("Code", "ClientError")
        raise CallbackError(f"SendTaskSuccess failed: {code}: {err.response['Error'].get('Message', '')}") from err
    log("task_success_sent", bytes=len(body))


def send_failure(task_token: str, error: str, cause: str, client: Any = None) -> None:
    """Best effort: a failure to report a failure is logged, never raised over the original error."""
    client = client or stepfunctions_client()
    try:
        client.send_task_failure(taskToken=task_token, error=error[:MAX_ERROR_CHARS], cause=cause[:MAX_CAUSE_CHARS])
        log("task_failure_sent", error=error)
    except ClientError as err:
        log("task_failure_not_sent", level="error", cause=str(err))


def stored_task_token(
    callback_key: str | None,
    *,
    table_name: str | None = None,
    client: Any = None,
    attempts: int = 10,
    delay_seconds: float = 3.0,
) -> str | None:
    """The task token stored under `callback_key` in the lock table; None without a key.

    The state machine writes the token while it starts the pipeline (two branches of one Parallel state),
    so the item may lag the first step by a moment: missing items are re-read `attempts` times."""
    if not callback_key:
        return None
    table = table_name or os.environ.get(LOCK_TABLE_ENV)
    if not table:
        raise CallbackError(f"a callback key was given but no lock table: set {LOCK_TABLE_ENV}")
    if client is None:
        import boto3

        client = boto3.client("dynamodb")
    for attempt in range(attempts):
        try:
            item = client.get_item(
                TableName=table, Key={LOCK_KEY_ATTRIBUTE: {"S": callback_key}}, ConsistentRead=True
            ).get("Item")
        except ClientError as err:
            code = err.response.get("Error", {}).get("Code", "ClientError")
            raise CallbackError(f"reading the task token {callback_key!r} from {table} failed: {code}") from err
        token = (item or {}).get(LOCK_TASK_TOKEN_ATTRIBUTE, {}).get("S")
        if token:
            return str(token)
        if attempt + 1 < attempts:
            time.sleep(delay_seconds)
    raise CallbackError(f"no task token under {callback_key!r} in table {table}")
