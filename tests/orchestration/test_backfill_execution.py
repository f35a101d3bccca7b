"""The compiled backfill state machine on moto: extractor pipeline with a task token, then a Map of windows."""

from __future__ import annotations

import json
import os
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from orchestration_harness import Deployment, execute, pipeline_executions, pipeline_parameters, start, wait_all

from compiler.model import CompiledWorkspace
from runtime.orchestration import callback

pytestmark = pytest.mark.emulator


def _extractor_execution(deployment: Deployment, arn: str, known: set[str], timeout: float = 30.0) -> dict[str, str]:
    """Parameters of the extractor pipeline execution the backfill `arn` started (a new one)."""
    sagemaker, sfn = deployment.client("sagemaker"), deployment.client("stepfunctions")
    pipeline = deployment.pipeline("backfill-extractor")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        new = set(pipeline_executions(sagemaker, pipeline)) - known
        if new:
            assert len(new) == 1, new
            return pipeline_parameters(sagemaker, new.pop())
        described = sfn.describe_execution(executionArn=arn)
        assert described["status"] == "RUNNING", (described.get("error"), described.get("cause"))
        time.sleep(0.1)
    raise AssertionError("the backfill did not start the extractor pipeline")


def _start_backfill(deployment: Deployment, request: dict[str, Any]) -> tuple[str, dict[str, str], str]:
    """(execution, the extractor pipeline's parameters, the task token stored under its CallbackKey)."""
    known = set(pipeline_executions(deployment.client("sagemaker"), deployment.pipeline("backfill-extractor")))
    arn = start(deployment.client("stepfunctions"), deployment.state_machines["backfill"], request)
    parameters = _extractor_execution(deployment, arn, known)
    token = callback.stored_task_token(
        parameters["CallbackKey"],
        table_name=deployment.tables["lock"],
        client=deployment.client("dynamodb"),
        attempts=100,
        delay_seconds=0.1,
    )
    assert token
    return arn, parameters, token


def _window(batch: str, start: str, end: str, **extra: str) -> dict[str, str]:
    prefix = f"s3://ndr-ingestion-local/paloalto/globex/hq/ndr-prod/{start[:10].replace('-', '/')}/{batch}/"
    return {
        "mini_batch_id": batch,
        "batch_start_ts_iso": start,
        "batch_end_ts_iso": end,
        "mini_batch_s3_prefix": prefix,
        **extra,
    }


def _feature_runs(deployment: Deployment, before: set[str]) -> list[dict[str, str]]:
    sagemaker = deployment.client("sagemaker")
    new = set(pipeline_executions(sagemaker, deployment.pipeline("feature-15m"))) - before
    return [pipeline_parameters(sagemaker, arn) for arn in new]


def test_backfill_windows_start_one_pipeline_each(deployment: Deployment, compiled: CompiledWorkspace) -> None:
    sfn, sagemaker = deployment.client("stepfunctions"), deployment.client("sagemaker")
    before = set(pipeline_executions(sagemaker, deployment.pipeline("feature-15m")))
    # A window the live flow already started must be a duplicate for the backfill too.
    live_event = {
        "s3_key": "paloalto/globex/hq/ndr-prod/2025/04/01/live1/p.json.gz",
        "timestamp": "2025-04-01T10:10:10Z",
    }
    [live] = execute(sfn, deployment.state_machines["live"], [live_event])
    assert live.output["status"] == "started"
    request = {"project_name": "ndr-prod", "start_date": "2025-04-01", "end_date": "2025-04-02", "max_concurrency": 2}
    arn, extractor, token = _start_backfill(deployment, request)
    key = extractor.pop("CallbackKey")
    assert key == "callback#" + arn.rsplit(":", 1)[1]  # the execution name: short, never the token
    assert token not in str(extractor)
    assert extractor == {
        "ProjectName": "ndr-prod",
        "FeatureSpecVersion": "",
        "StartDate": "2025-04-01",
        "EndDate": "2025-04-02",
        "WindowsOutputS3Prefix": "",
        **_extractor_resources(compiled),
    }
    windows = [
        _window(
            "b1", "2025-04-01T00:08:00Z", "2025-04-01T00:09:30Z", project_name="ndr-prod", feature_spec_version="v1"
        ),
        _window("b2", "2025-04-01T00:23:00Z", "2025-04-01T00:30:00.250Z"),
        _window("b3", "2025-04-01T23:53:00Z", "2025-04-02T00:07:59Z"),
        _window("b2", "2025-04-01T00:23:00Z", "2025-04-01T00:30:00.250Z"),  # listed twice
        _window("b4", "2025-04-02T12:38:00Z", "2025-04-02T12:40:00Z", feature_spec_version="v2"),
        _window("live1", "2025-04-01T10:08:00Z", "2025-04-01T10:10:10Z"),  # started by the live flow
    ]
    send_windows(deployment, token, windows)
    [run] = wait_all(sfn, [arn])
    assert run.status == "SUCCEEDED", (run.error, run.cause)
    assert run.output == {"windows": 6, "completed": 4, "duplicates": 2, "failed": 0}
    started = _feature_runs(deployment, before)
    assert len(started) == 1 + 4  # the live event and one per distinct new window
    by_batch = {p["MiniBatchId"]: p for p in started}
    assert sorted(by_batch) == ["b1", "b2", "b3", "b4", "live1"]
    assert by_batch["b3"]["BatchStartTsIso"] == "2025-04-01T23:53:00Z"
    assert by_batch["b3"]["BatchEndTsIso"] == "2025-04-02T00:07:59Z"
    assert by_batch["b2"]["BatchEndTsIso"] == "2025-04-01T00:30:00.250Z"
    assert by_batch["b4"]["FeatureSpecVersion"] == "v2"
    assert by_batch["b1"]["MiniBatchS3Prefix"] == windows[0]["mini_batch_s3_prefix"]
    assert by_batch["b1"]["ProjectName"] == "ndr-prod" and by_batch["b1"]["FeatureSpecVersion"] == "v1"
    assert by_batch["b1"]["DeltaBuilderInstanceCount"] == "2"


def _extractor_resources(compiled: CompiledWorkspace) -> dict[str, str]:
    item = compiled.find("ndr-prod", "pipeline_backfill_historical_extractor", "v2") or compiled.find(
        "ndr-prod", "pipeline_backfill_historical_extractor", "v1"
    )
    assert item is not None
    processing = {**(item.attributes.get("pipeline_defaults") or {}), **(item.spec.get("processing") or {})}
    suffixes = {
        "instance_type": "InstanceType",
        "instance_count": "InstanceCount",
        "volume_size_gb": "VolumeSizeInGB",
        "max_runtime_seconds": "MaxRuntimeInSeconds",
        "image_uri": "ImageUri",
    }
    return {f"HistoricalExtractor{suffixes[k]}": str(v) for k, v in processing.items() if k in suffixes}


def _json(value: Any) -> str:
    return json.dumps(value)


def _upload(deployment: Deployment, windows: list[Any], name: str | None = None) -> str:
    """The extractor's items file on the emulator's S3 (a bare JSON array: what the Map's ItemReader reads)."""
    s3 = deployment.client("s3")
    bucket = "ndr-artifacts-local"
    if bucket not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
        s3.create_bucket(Bucket=bucket)
    key = f"backfill/windows/{name or uuid.uuid4().hex}.items.json"
    s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(windows).encode())
    return f"s3://{bucket}/{key}"


def send_windows(deployment: Deployment, token: str, windows: list[Any]) -> None:
    """What the runtime extractor reports: a pointer to the items file, never the list."""
    output = {"count": len(windows), "items_s3_uri": _upload(deployment, windows)}
    deployment.client("stepfunctions").send_task_success(taskToken=token, output=_json(output))


def test_backfill_with_the_runtime_extractor(deployment: Deployment, tmp_path: Path) -> None:
    """End to end: batch folders -> the runtime's extractor (task token callback) -> one pipeline per window;
    a second backfill of the same days starts nothing."""
    extractor = pytest.importorskip("runtime.orchestration.extractor")
    storage_module = pytest.importorskip("runtime.storage")
    traffic = pytest.importorskip("devtools.traffic")
    _upload(deployment, [])  # creates the artifacts bucket on the emulator
    s3 = deployment.client("s3")

    class Storage(storage_module.LocalStorage):  # type: ignore[misc, name-defined]
        """Local batches; what the job writes also lands on the emulator's S3, where the Map reads it."""

        def write_bytes(self, uri: str, data: bytes) -> None:
            super().write_bytes(uri, data)
            bucket = "s3://ndr-artifacts-local/"
            if uri.startswith(bucket):
                s3.put_object(Bucket="ndr-artifacts-local", Key=uri.removeprefix(bucket), Body=data)

    storage = Storage(tmp_path / "s3")
    options = traffic.TrafficOptions(org1="globex", org2="hq", project_name="ndr-prod", hosts=3, seed=11)
    batches = traffic.generate_traffic(
        "s3://ndr-ingestion-local",
        start="2025-05-31T23:20:00Z",
        batches=4,
        rows_per_batch=3,
        options=options,
        storage=storage,
    )
    sfn, sagemaker = deployment.client("stepfunctions"), deployment.client("sagemaker")
    before = set(pipeline_executions(sagemaker, deployment.pipeline("feature-15m")))
    outputs = []
    for _ in range(2):
        arn, parameters, token = _start_backfill(
            deployment, {"project_name": "ndr-prod", "start_date": "2025-05-31", "end_date": "2025-06-01"}
        )
        request = extractor.ExtractorRequest(
            parameters["ProjectName"],
            date.fromisoformat(parameters["StartDate"]),
            date.fromisoformat(parameters["EndDate"]),
            parameters["FeatureSpecVersion"] or None,
            None,
            f"s3://ndr-artifacts-local/windows-{len(outputs)}",
            token,
        )
        result = extractor.run_extractor(
            request,
            storage=storage,
            ddb_client=deployment.client("dynamodb"),
            table_name=deployment.tables["parameters"],
            routing_table=deployment.tables["routing"],
            sfn_client=sfn,
        )
        assert len(result.windows) == 4
        assert result.output_uri is not None
        assert json.loads(storage.read_bytes(extractor.items_uri(result.output_uri))) == result.windows
        [run] = wait_all(sfn, [arn])
        assert run.status == "SUCCEEDED", (run.error, run.cause)
        outputs.append(run.output)
    assert outputs == [
        {"windows": 4, "completed": 4, "duplicates": 0, "failed": 0},
        {"windows": 4, "completed": 0, "duplicates": 4, "failed": 0},
    ]
    started = _feature_runs(deployment, before)
    assert sorted(p["MiniBatchId"] for p in started) == sorted(b.mini_batch_id for b in batches)
    assert {p["BatchEndTsIso"] for p in started} == {b.batch_end_ts_iso for b in batches}


@pytest.mark.parametrize(
    ("request_", "cause"),
    [
        ({"start_date": "2025-01-01", "end_date": "2025-01-02"}, "project_name must be a project folder name"),
        (
            {"project_name": "ndr-prod", "start_date": "2025-02-30", "end_date": "2025-03-01"},
            "start_date must be a date",
        ),
        ({"project_name": "ndr-prod", "start_date": "2025-03-02", "end_date": "2025-03-01"}, "is before start_date"),
        (
            {"project_name": "ndr-prod", "start_date": "2025-03-01", "end_date": "2025-03-01", "max_concurrency": 0},
            "max_concurrency must be an integer from 1 to 20",
        ),
    ],
)
def test_invalid_requests(deployment: Deployment, request_: dict[str, Any], cause: str) -> None:
    [run] = execute(deployment.client("stepfunctions"), deployment.state_machines["backfill"], [request_])
    assert run.error == "InvalidBackfillRequest" and cause in (run.cause or ""), run.cause


def test_unknown_project(deployment: Deployment) -> None:
    request = {"project_name": "nobody", "start_date": "2025-01-01", "end_date": "2025-01-01"}
    [run] = execute(deployment.client("stepfunctions"), deployment.state_machines["backfill"], [request])
    assert run.error == "UnknownProject" and "project nobody has no items" in (run.cause or "")


@pytest.mark.parametrize(
    ("answer", "error", "status"),
    [
        ({"failure": ("NoFolders", "no batch folder under s3://x/")}, "ExtractorFailed", "FAILED"),
        ({"output": {"count": 0}}, "InvalidExtractorOutput", "FAILED"),
        ({"output": {"windows": [{"mini_batch_id": "x"}]}}, "InvalidExtractorOutput", "FAILED"),  # the old list
        ({"windows": []}, None, "SUCCEEDED"),
        ({"windows": [{"mini_batch_id": "x"}]}, "WindowsFailed", "FAILED"),
    ],
)
def test_extractor_answers(deployment: Deployment, answer: dict[str, Any], error: str | None, status: str) -> None:
    sfn = deployment.client("stepfunctions")
    request = {"project_name": "ndr-prod", "start_date": "2025-01-01", "end_date": "2025-01-01"}
    arn, _, token = _start_backfill(deployment, request)
    if "failure" in answer:
        code, cause = answer["failure"]
        sfn.send_task_failure(taskToken=token, error=code, cause=cause)
    elif "windows" in answer:
        send_windows(deployment, token, answer["windows"])
    else:
        sfn.send_task_success(taskToken=token, output=_json(answer["output"]))
    [run] = wait_all(sfn, [arn])
    assert (run.status, run.error) == (status, error), run.cause
    if error == "ExtractorFailed":
        # moto 5.2.5's SendTaskFailure handler drops `cause` (AWS keeps it); the error name comes through.
        assert "historical extractor ndr-local-backfill-extractor failed: NoFolders" in (run.cause or "")
    if error == "WindowsFailed":
        assert "1 of 1 windows failed" in (run.cause or "") or "InvalidWindow" in (run.cause or ""), run.cause


@pytest.mark.skipif(
    not os.environ.get("NDRC_LONG_TESTS"),
    reason="2,000 child executions take about 10 minutes on moto (9m28s here); NDRC_LONG_TESTS=1 runs it",
)
def test_a_backfill_of_2000_windows_reads_them_from_s3(deployment: Deployment) -> None:
    """2,000 windows (about three weeks of one project; SendTaskSuccess could carry about 700): the extractor
    reports a pointer, the Map reads the items file. Every window was started before (its lock exists), so
    each child ends in Duplicate and no pipeline is started: the test measures the reading, not SageMaker."""
    sfn, ddb = deployment.client("stepfunctions"), deployment.client("dynamodb")
    base = datetime(2024, 1, 1, 0, 8, tzinfo=UTC)
    windows = []
    for i in range(2000):
        start = base + timedelta(minutes=15 * i)
        end = start + timedelta(minutes=1)
        windows.append(
            _window(f"w{i}", f"{start:%Y-%m-%dT%H:%M:%SZ}", f"{end:%Y-%m-%dT%H:%M:%SZ}", feature_spec_version="v1")
        )
    locks = [f"ndr-prod#v1#{w['batch_start_ts_iso']}#{w['batch_end_ts_iso']}" for w in windows]
    for chunk in range(0, len(locks), 25):
        puts = [{"PutRequest": {"Item": {"lock_key": {"S": key}}}} for key in locks[chunk : chunk + 25]]
        ddb.batch_write_item(RequestItems={deployment.tables["lock"]: puts})
    request = {"project_name": "ndr-prod", "start_date": "2024-01-01", "end_date": "2024-01-21", "max_concurrency": 20}
    arn, _, token = _start_backfill(deployment, request)
    output = {"count": len(windows), "items_s3_uri": _upload(deployment, windows)}
    assert len(json.dumps(output)) < 300  # what SendTaskSuccess carries
    sfn.send_task_success(taskToken=token, output=_json(output))
    [run] = wait_all(sfn, [arn], timeout=900)
    assert run.status == "SUCCEEDED", (run.error, run.cause)
    assert run.output == {"windows": 2000, "completed": 0, "duplicates": 2000, "failed": 0}
