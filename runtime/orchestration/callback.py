"""Step Functions task-token callbacks: SendTaskSuccess with an output, SendTaskFailure with a cause."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

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
