"""The compiled live-inference state machine, executed on a moto server over HTTP."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from orchestration_harness import Deployment, execute, pipeline_executions, pipeline_parameters

from compiler.model import CompiledWorkspace
from compiler.orchestration.flows import BATCH_PARAMETERS, FLOWS_BY_KEY, RESOURCE_FIELDS

pytestmark = pytest.mark.emulator
FLOORS = (8, 23, 38, 53)
_batch_ids = itertools.count()

# (timestamp as sent, why it is here). Expected windows come from `reference_window` below.
BOUNDARIES: list[tuple[Any, str]] = [
    ("2025-01-15T10:08:00Z", "exactly on floor 08"),
    ("2025-01-15T10:23:00Z", "exactly on floor 23"),
    ("2025-01-15T10:38:00Z", "exactly on floor 38"),
    ("2025-01-15T10:53:00Z", "exactly on floor 53"),
    ("2025-01-15T10:07:59Z", "one second before 08: previous hour's 53"),
    ("2025-01-15T10:22:59.999Z", "a millisecond before 23"),
    ("2025-01-15T10:37:59Z", "just before 38"),
    ("2025-01-15T10:52:59Z", "just before 53"),
    ("2025-01-15T10:59:59Z", "end of hour"),
    ("2025-01-15T10:00:00Z", "top of the hour"),
    ("2025-01-15T10:27:41Z", "CONTRACT example"),
    ("2025-01-15T10:27:41.123Z", "milliseconds kept in the end"),
    ("2025-01-15T11:27:41.123456Z", "microseconds truncated to milliseconds"),
    ("2025-01-16T00:00:00Z", "midnight: previous day 23:53"),
    ("2025-01-16T00:07:59Z", "just after midnight, before 08"),
    ("2025-03-01T00:05:00Z", "month boundary, non-leap February"),
    ("2024-03-01T00:07:59Z", "month boundary into leap day"),
    ("2024-02-29T00:00:30Z", "leap day just after midnight"),
    ("2024-02-29T12:40:00Z", "leap day"),
    ("2024-02-29T23:59:59Z", "end of leap day"),
    ("2000-03-01T00:00:00Z", "century leap year (2000-02-29 exists)"),
    ("2100-03-01T00:00:00Z", "century non-leap year (2100-02-28)"),
    ("2025-05-01T00:01:00Z", "30-day month boundary"),
    ("2025-01-01T00:00:00Z", "year boundary"),
    ("2024-12-31T23:59:59.999Z", "last millisecond of the year"),
    ("2025-01-01T00:08:00Z", "first floor of the year"),
    ("2025-01-15T00:05:00+01:00", "offset: 23:05Z the previous day"),
    ("2025-01-14T23:59:00-05:00", "negative offset across midnight UTC"),
    ("2025-01-15T09:27:41", "no zone: UTC"),
    (1736943461, "epoch seconds"),
    (1736936861.5, "epoch seconds with a fraction"),
]
# Every minute of an hour that crosses a month boundary (30 June 23:xx -> 1 July).
SWEEP: list[tuple[Any, str]] = [
    (f"2025-06-30T23:{minute:02d}:{(minute * 7) % 60:02d}Z", f"minute {minute}") for minute in range(0, 60, 2)
]


def _parse(ts: Any) -> datetime:
    if isinstance(ts, int | float):
        return datetime.fromtimestamp(ts, tz=UTC)
    moment = datetime.fromisoformat(ts.replace("Z", "+00:00"))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _iso(moment: datetime) -> str:
    base = moment.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{base}.{moment.microsecond // 1000:03d}Z" if moment.microsecond // 1000 else f"{base}Z"


def reference_window(ts: Any) -> tuple[str, str]:
    """CONTRACT's window policy, computed independently of the state machine."""
    moment = _parse(ts)
    moment = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
    floor = moment.replace(second=0, microsecond=0)
    earlier = [m for m in FLOORS if m <= floor.minute]
    start = floor.replace(minute=earlier[-1]) if earlier else (floor - timedelta(hours=1)).replace(minute=53)
    return _iso(start), _iso(moment)


def expected_resources(compiled: CompiledWorkspace, project: str, version: str) -> dict[str, str]:
    """`spec.processing.<field>`, else `pipeline_defaults.<field>`, per step of the 15-minute pipeline."""
    expected = {}
    for step in FLOWS_BY_KEY["feature-15m"].steps:
        item = compiled.find(project, step.job, version) or compiled.find(project, step.job, None)
        if item is None and step.optional:
            continue  # an optional step without a spec gets no sizing parameters (its job skips itself)
        assert item is not None, f"sample workspace lacks {step.job}#{version}"
        processing = item.spec.get("processing") or {}
        defaults = item.attributes.get("pipeline_defaults") or {}
        for field, suffix in RESOURCE_FIELDS:
            value = processing.get(field, defaults.get(field))
            if value is not None:
                expected[step.name + suffix] = str(value)
    return expected


def event_for(ts: Any, variant: int, project: str = "ndr-prod", org: str = "globex/hq") -> tuple[dict[str, Any], dict]:
    batch = f"mb{next(_batch_ids):04d}"
    day = _parse(ts).strftime("%Y/%m/%d")
    key = f"{org}/{project}/{day}/{batch}/part-00000.json.gz"
    bucket = "ndr-ingestion-local"
    event: dict[str, Any]
    if variant % 3 == 0:
        event = {"s3_key": f"paloalto/{key}", "timestamp": ts}
        prefix = f"s3://{bucket}/paloalto/{key.rsplit('/', 1)[0]}/"
    elif variant % 3 == 1:
        event = {"bucket": "other-bucket", "s3_key": key, "timestamp": ts}
        prefix = f"s3://other-bucket/{key.rsplit('/', 1)[0]}/"
    else:
        event = {"s3_key": f"s3://uri-bucket/paloalto/{key}", "timestamp": ts}
        prefix = f"s3://uri-bucket/paloalto/{key.rsplit('/', 1)[0]}/"
    start, end = reference_window(ts)
    identity = {
        "ProjectName": project,
        "FeatureSpecVersion": "v1",
        "MiniBatchId": batch,
        "MiniBatchS3Prefix": prefix,
        "BatchStartTsIso": start,
        "BatchEndTsIso": end,
    }
    return event, identity


def _started(deployment: Deployment, runs: list, expectations: list[dict[str, str]]) -> None:
    sagemaker = deployment.client("sagemaker")
    for run, expected in zip(runs, expectations, strict=True):
        assert run.status == "SUCCEEDED", (run.error, run.cause)
        assert run.output["status"] == "started", run.output
        assert pipeline_parameters(sagemaker, run.output["pipeline_execution_arn"]) == expected
        assert run.states[-1] == "StartPipeline" and run.transitions <= 10, run.states


def test_window_policy_over_boundaries_starts_exact_parameters(deployment: Deployment, compiled) -> None:
    cases = BOUNDARIES + SWEEP
    assert len(cases) >= 50
    resources = expected_resources(compiled, "ndr-prod", "v1")
    assert resources, "the sample specs set processing resources; they must reach the pipeline"
    events, expectations = [], []
    for variant, (ts, _) in enumerate(cases):
        event, identity = event_for(ts, variant)
        events.append(event)
        expectations.append({**identity, **resources})
    sfn = deployment.client("stepfunctions")
    runs = execute(sfn, deployment.state_machines["live"], events)
    _started(deployment, runs, expectations)


def test_windows_agree_with_the_runtime_helper() -> None:
    window = pytest.importorskip("runtime.orchestration.window")
    for ts, why in BOUNDARIES + SWEEP:
        if isinstance(ts, float):
            continue  # the runtime keeps microseconds of float epochs; events carry ISO text
        assert window.batch_window(ts) == reference_window(ts), why


def test_identity_parameters_are_the_contract_ones() -> None:
    assert [name for name, _ in BATCH_PARAMETERS] == [
        "ProjectName",
        "FeatureSpecVersion",
        "MiniBatchId",
        "MiniBatchS3Prefix",
        "BatchStartTsIso",
        "BatchEndTsIso",
    ]


def test_second_project_and_route_pinned_version(deployment: Deployment, compiled) -> None:
    event, identity = event_for("2025-02-03T04:05:06Z", 0, project="ndr-acme-prod", org="acme/finance")
    runs = execute(deployment.client("stepfunctions"), deployment.state_machines["live"], [event])
    _started(deployment, runs, [{**identity, **expected_resources(compiled, "ndr-acme-prod", "v1")}])


def test_one_instant_in_three_notations_is_one_window(deployment: Deployment) -> None:
    events = [event_for(ts, 0)[0] for ts in ("2025-08-01T10:27:41Z", "2025-08-01T12:27:41+02:00", 1754044061)]
    runs = execute(deployment.client("stepfunctions"), deployment.state_machines["live"], events)
    assert sorted(run.output["status"] for run in runs) == ["duplicate", "duplicate", "started"]


def test_same_event_five_times_starts_one_pipeline(deployment: Deployment) -> None:
    sagemaker = deployment.client("sagemaker")
    pipeline = deployment.pipeline("feature-15m")
    before = set(pipeline_executions(sagemaker, pipeline))
    event, identity = event_for("2025-07-04T12:34:56Z", 0)
    runs = execute(deployment.client("stepfunctions"), deployment.state_machines["live"], [event] * 5)
    assert all(run.status == "SUCCEEDED" for run in runs), [(r.error, r.cause) for r in runs]
    started = [run for run in runs if run.output.get("status") == "started"]
    duplicates = [run for run in runs if run.output.get("status") == "duplicate"]
    assert len(started) == 1 and len(duplicates) == 4
    new = set(pipeline_executions(sagemaker, pipeline)) - before
    assert new == {started[0].output["pipeline_execution_arn"]}
    assert pipeline_parameters(sagemaker, new.pop())["MiniBatchId"] == identity["MiniBatchId"]
    assert started[0].transitions <= 10
    for run in duplicates:
        assert run.states[-2:] == ["AcquireLock", "Duplicate"] and run.transitions <= 7, run.states
    lock = deployment.client("dynamodb").get_item(
        TableName=deployment.tables["lock"],
        Key={"lock_key": {"S": "#".join(["ndr-prod", "v1", identity["BatchStartTsIso"], identity["BatchEndTsIso"]])}},
    )["Item"]
    assert lock["mini_batch_id"]["S"] == identity["MiniBatchId"]
    assert int(lock["expires_at"]["N"]) > datetime.now(UTC).timestamp() + 13 * 86400


def _scheduled_arguments(run: Any, state: str) -> dict[str, Any]:
    entered = [i for i, e in enumerate(run.events) if e.get("stateEnteredEventDetails", {}).get("name") == state]
    assert entered, run.states
    scheduled = next(e for e in run.events[entered[-1] :] if e["type"] == "TaskScheduled")
    return dict(json.loads(scheduled["taskScheduledEventDetails"]["parameters"]))


def test_start_carries_a_client_request_token_stable_per_execution_and_window(deployment: Deployment) -> None:
    """StartPipelineExecution requires ClientRequestToken (32-128 characters); a retry of the call within
    the execution sends the same one, so a lost response cannot start a second pipeline."""
    event, identity = event_for("2025-10-10T10:10:10Z", 0)
    [run] = execute(deployment.client("stepfunctions"), deployment.state_machines["live"], [event])
    assert run.output["status"] == "started", (run.error, run.cause)
    token = _scheduled_arguments(run, "StartPipeline")["ClientRequestToken"]
    name = run.arn.rsplit(":", 1)[1]
    assert token == f"ndrc-live-{identity['BatchStartTsIso']}-{name}" and 32 <= len(token) <= 128
