"""Structured logs and the Step Functions output size guard."""

from __future__ import annotations

import io
import json

import pytest

from runtime.errors import CallbackError
from runtime.jsonlog import log
from runtime.orchestration.callback import MAX_OUTPUT_BYTES, encode_output


def test_log_is_one_json_object_with_secrets_redacted() -> None:
    stream = io.StringIO()
    log("x", stream=stream, task_token="AAAA", nested={"password": "p", "ok": 1}, count=2)
    record = json.loads(stream.getvalue())
    assert record["event"] == "x" and record["level"] == "info" and record["count"] == 2
    assert record["task_token"] == "***" and record["nested"] == {"password": "***", "ok": 1}
    assert stream.getvalue().count("\n") == 1


def test_oversized_task_output_is_refused_with_a_reason() -> None:
    windows = [{"mini_batch_id": f"{i:032d}", "batch_start_ts_iso": "x" * 200} for i in range(2000)]
    with pytest.raises(CallbackError, match=f"2000 windows is .* over the {MAX_OUTPUT_BYTES}-byte"):
        encode_output({"windows": windows})
    assert json.loads(encode_output({"windows": windows[:10]}))["windows"] == windows[:10]
