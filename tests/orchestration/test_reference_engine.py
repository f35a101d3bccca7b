"""Every JSONata expression the state machines evaluate gives the same result on jsonata-js.

The emulator evaluates JSONata with jsonata-python; AWS follows jsonata-js, the reference implementation.
Here a moto server records every expression its interpreter evaluates (`NDRC_JSONATA_TRACE`, the
expression as moto hands it over: state variables and `$states` bound) while representative live and
backfill executions run — fresh, duplicate, each named failure the emulator can reach, a backfill with
valid and invalid windows. Each recorded expression is then evaluated by both engines and the results
compared. `$now()` and `$millis()` are pinned to one instant so that both engines see the same clock.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonata
import pytest
from orchestration_harness import Deployment, deploy, execute, moto_server, start, wait_all
from test_backfill_execution import send_windows
from test_live_entry import TEST_EVENT, s3_notification
from test_live_outcome import status_change_event

from compiler.compilation.compile import CompileResult
from compiler.local.emulator import JSONATA_TRACE_ENV
from compiler.orchestration.wiring import ATTEMPT_ATTRIBUTE, pipe_record
from runtime.orchestration import callback

pytestmark = pytest.mark.emulator
JSONATA_MODULE = Path(".ci") / "node" / "node_modules" / "jsonata"
PINNED = {"$millis()": "1767225600000", "$now()": "'2026-01-01T00:00:00.000Z'"}
EVENT_KEY = "paloalto/globex/hq/ndr-prod/2025/03/04/{batch}/part-0.json.gz"


def _live_events() -> list[dict[str, Any]]:
    fresh = {"s3_key": EVENT_KEY.format(batch="ref1"), "timestamp": "2025-03-04T05:06:07Z"}
    return [
        fresh,
        fresh,  # a duplicate
        {"s3_key": "s3://uri-bucket/" + EVENT_KEY.format(batch="ref2"), "timestamp": 1741064767.5},
        {"bucket": "b", "s3_key": EVENT_KEY.format(batch="ref3"), "timestamp": "2025-03-04T07:06:07.25+02:00"},
        {"s3_key": EVENT_KEY.format(batch="ref4"), "timestamp": "2025-03-04T00:01:00"},  # floor in the hour before
        {"s3_key": "globex/hq/p/2025/03/04/x.json.gz", "timestamp": "2025-03-04T05:06:07Z"},  # InvalidBatchKey
        {"s3_key": EVENT_KEY.format(batch="ref5"), "timestamp": "2025-03-04T05:06:07+24:00"},  # InvalidTimestamp
        {"s3_key": EVENT_KEY.format(batch="ref6"), "timestamp": 1e20},  # InvalidTimestamp
        {"s3_key": "paloalto/nowhere/none/nobody/2025/03/04/b/p.json.gz", "timestamp": 1741064767},  # Unknown
        {"s3_key": "paloalto/globex/lab/ndr-prod/2025/03/04/b/p.json.gz", "timestamp": 1741064767},  # disabled
        {"s3_key": "paloalto/globex/hq/ndr-acme-prod/2025/03/04/b/p.json.gz", "timestamp": 1741064767},  # mismatch
    ]


def _queued(body: Any, attempt: str | None = None) -> list[dict[str, Any]]:
    """What the entry pipe hands the live machine for one SQS message (a one-element batch)."""
    message = {
        "MessageId": "m-1",
        "ReceiptHandle": "r-1",
        "MD5OfBody": "0" * 32,
        "Body": body if isinstance(body, str) else json.dumps(body),
        "Attributes": {"SentTimestamp": "1"},
    }
    if attempt is not None:
        message["MessageAttributes"] = {ATTEMPT_ATTRIBUTE: {"DataType": "Number", "StringValue": attempt}}
    return [pipe_record(message, "arn:aws:sqs:us-east-1:123456789012:ndr-local-live-entry", "us-east-1")]


def _entry_events() -> list[Any]:
    """Queued messages in every form the entry accepts or rejects (SNS-wrapped or raw S3 notifications)."""
    encoded = "paloalto/globex/hq/ndr-prod/2025/03/04/ref%3D9%2Bq/part+0.json.gz"
    notification = s3_notification(encoded, when="2025-03-04T09:09:09.5Z")
    envelope = {
        "Type": "Notification",
        "MessageId": "n-1",
        "TopicArn": "arn:aws:sns:us-east-1:1:t",
        "Message": json.dumps(s3_notification(EVENT_KEY.format(batch="ref10"), when="2025-03-04T10:10:10Z")),
        "Timestamp": "2025-03-04T11:00:00.000Z",
    }
    two = {"Records": notification["Records"] * 2}
    return [
        _queued(notification),
        _queued(envelope, attempt="3"),
        _queued(TEST_EVENT),
        _queued(s3_notification(EVENT_KEY.format(batch="ref11"), event="ObjectRemoved:Delete")),
        _queued({"s3_key": EVENT_KEY.format(batch="ref12"), "timestamp": "2025-03-04T12:12:12Z"}),
        _queued("not json"),
        _queued(two),
        _queued(s3_notification("paloalto/globex/hq/ndr-prod/2025/03/04/bad%ZZ/p.json.gz")),
        [],
    ]


def _outcome_events(deployment: Deployment, started: dict[str, Any], environment: Any) -> list[dict[str, Any]]:
    """SageMaker status-change events for the live-outcome machine: a failure to mark (then its duplicate), a
    success, a hand-started execution and an event without detail."""
    sagemaker, account = deployment.client("sagemaker"), str(environment.get("account_id"))
    failed = status_change_event(sagemaker, started["pipeline_execution_arn"], "Failed", environment.region, account)
    succeeded = status_change_event(
        sagemaker, started["pipeline_execution_arn"], "Succeeded", environment.region, account
    )
    manual = json.loads(json.dumps(failed))
    manual["detail"]["pipelineExecutionDescription"] = "by hand"
    return [failed, failed, succeeded, manual, {"detail-type": "x"}]


def _window(batch: str, start: str, end: str) -> dict[str, str]:
    prefix = f"s3://ndr-ingestion-local/paloalto/globex/hq/ndr-prod/2025/03/05/{batch}/"
    return {
        "mini_batch_id": batch,
        "batch_start_ts_iso": start,
        "batch_end_ts_iso": end,
        "mini_batch_s3_prefix": prefix,
    }


def _backfill(deployment: Deployment, answer: dict[str, Any]) -> None:
    sfn = deployment.client("stepfunctions")
    request = {"project_name": "ndr-prod", "start_date": "2025-03-05", "end_date": "2025-03-05", "max_concurrency": 2}
    arn = start(sfn, deployment.state_machines["backfill"], request)
    key = "callback#" + arn.rsplit(":", 1)[1]
    table, ddb = deployment.tables["lock"], deployment.client("dynamodb")
    token = callback.stored_task_token(key, table_name=table, client=ddb, attempts=300, delay_seconds=0.1)
    assert token
    if "failure" in answer:
        sfn.send_task_failure(taskToken=token, error=answer["failure"], cause="extractor failed")
    elif "windows" in answer:
        send_windows(deployment, token, answer["windows"])
    else:
        sfn.send_task_success(taskToken=token, output=json.dumps(answer))
    wait_all(sfn, [arn])


@pytest.fixture(scope="module")
def traced(repo_root: Path, compile_result: CompileResult, tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    trace = tmp_path_factory.mktemp("jsonata") / "trace.jsonl"
    environment = compile_result.compiled.environment
    tables = {"parameters": environment.parameters_table, "routing": environment.routing_table}
    tables["lock"] = environment.lock_table
    os.environ[JSONATA_TRACE_ENV] = str(trace)
    try:
        with moto_server(repo_root) as endpoint:
            deployment = deploy(endpoint, compile_result.out_dir, tables, str(environment.get("roles.state_machine")))
            sfn = deployment.client("stepfunctions")
            [fresh] = execute(sfn, deployment.state_machines["live"], _live_events()[:1])
            execute(sfn, deployment.state_machines["live"], _live_events()[1:])
            execute(sfn, deployment.state_machines["live"], _entry_events())
            execute(sfn, deployment.state_machines["outcome"], _outcome_events(deployment, fresh.output, environment))
            windows = [
                _window("w1", "2025-03-05T00:08:00Z", "2025-03-05T00:09:30Z"),
                _window("w2", "2025-03-05T00:23:00Z", "2025-03-05T00:30:00.250Z") | {"feature_spec_version": "v2"},
                {"mini_batch_id": "broken"},
            ]
            _backfill(deployment, {"windows": windows, "count": 3})
            _backfill(deployment, {"windows": windows[:2]})  # duplicates of the first
            _backfill(deployment, {"failure": "NoFolders"})
            _backfill(deployment, {"count": 0})  # no windows list
            execute(sfn, deployment.state_machines["backfill"], [{"project_name": "x y", "start_date": "2025"}])
    finally:
        os.environ.pop(JSONATA_TRACE_ENV, None)
    return [json.loads(line) for line in trace.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def reference(repo_root: Path) -> Iterator[subprocess.Popen[str]]:
    """jsonata-js on node: its test carries the `node` marker, so tests/conftest.py checks both are there."""
    module = repo_root / JSONATA_MODULE
    worker = Path(__file__).resolve().parent / "jsonata_reference.js"
    process = subprocess.Popen(
        ["node", str(worker)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "JSONATA_MODULE": str(module)},
    )
    yield process
    assert process.stdin is not None
    process.stdin.close()
    process.wait(timeout=10)


def _normal(value: Any) -> Any:
    """Both engines' results as comparable JSON (integral floats as ints)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _normal(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_normal(item) for item in value]
    return value


def _python(expression: str) -> dict[str, Any]:
    try:
        return {"ok": True, "value": _normal(jsonata.Jsonata(expression).evaluate(None))}
    except Exception as err:
        return {"ok": False, "error": str(err)}


def _javascript(process: subprocess.Popen[str], expression: str) -> dict[str, Any]:
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(json.dumps({"expression": expression}) + "\n")
    process.stdin.flush()
    answer = json.loads(process.stdout.readline())
    if answer["ok"]:
        return {"ok": True, "value": _normal(answer["value"])}
    return {"ok": False, "error": answer["error"]}


def _pinned(expression: str) -> str:
    for call, literal in PINNED.items():
        expression = expression.replace(call, literal)
    return expression


@pytest.mark.node
def test_every_traced_expression_evaluates_the_same_on_jsonata_js(
    traced: list[str], reference: subprocess.Popen[str]
) -> None:
    expressions = sorted({_pinned(e) for e in traced})
    assert len(expressions) > 100, "the executions evaluate the machines' expressions"
    differences = []
    for expression in expressions:
        python, javascript = _python(expression), _javascript(reference, expression)
        agree = python["ok"] == javascript["ok"] and (not python["ok"] or python["value"] == javascript["value"])
        if not agree:
            differences.append({"expression": expression[-600:], "python": python, "javascript": javascript})
    assert differences == [], json.dumps(differences[:3], indent=1)[:6000]


def test_the_trace_covers_the_expensive_expressions(traced: list[str]) -> None:
    """The parse, project and window expressions (where the engines could differ) were all evaluated."""
    text = "\n".join(traced)
    fragments = (
        "$isDate := function",
        "$natural := function",
        "'lock_key': $join(",
        "$isDay := function",
        "$decodeUrlComponent(",
        "$parse(",
        "$substringBefore($rest, ' by ')",
    )
    for fragment in fragments:
        assert fragment in text, fragment
