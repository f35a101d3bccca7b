"""The historical extractor: folders -> windows, JSON output, listing cost, Step Functions callbacks."""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path
from typing import Any

import boto3
import pytest

from devtools.traffic import TrafficOptions, batch_id, generate_traffic
from runtime.errors import RuntimeJobError
from runtime.orchestration.extractor import ExtractorRequest, run_extractor
from runtime.orchestration.window import batch_window
from runtime.storage import LocalStorage, S3Storage

OPTIONS = TrafficOptions(org1="acme", org2="finance", project_name="ndr-acme", hosts=5, seed=7)
PREFIX = "s3://ingest/paloalto/acme/finance/ndr-acme/"


@pytest.fixture
def local_batches(tmp_path: Path) -> LocalStorage:
    """Three batches ending 23:38:41, 23:53:41 (Jan 15) and 00:08:41 (Jan 16), plus another project."""
    storage = LocalStorage(tmp_path / "s3")
    generate_traffic(
        "s3://ingest", start="2025-01-15T23:38:00Z", batches=3, rows_per_batch=5, options=OPTIONS, storage=storage
    )
    other = TrafficOptions(org1="acme", org2="finance", project_name="other", hosts=2, seed=1)
    generate_traffic("s3://ingest", start="2025-01-15T12:00:00Z", rows_per_batch=3, options=other, storage=storage)
    return storage


def _request(**kwargs: Any) -> ExtractorRequest:
    base: dict[str, Any] = {
        "project_name": "ndr-acme",
        "start_date": date(2025, 1, 15),
        "end_date": date(2025, 1, 16),
        "feature_spec_version": "v1",
        "input_s3_prefix": PREFIX,
        "output_s3_prefix": "s3://artifacts/windows",
    }
    return ExtractorRequest(**{**base, **kwargs})


def test_local_windows_hand_computed(local_batches: LocalStorage) -> None:
    result = run_extractor(_request(), storage=local_batches, ddb_client=None, table_name="unused")
    starts = [(w["batch_start_ts_iso"], w["batch_end_ts_iso"]) for w in result.windows]
    assert starts == [
        ("2025-01-15T23:38:00Z", "2025-01-15T23:38:41Z"),
        ("2025-01-15T23:53:00Z", "2025-01-15T23:53:41Z"),
        ("2025-01-16T00:08:00Z", "2025-01-16T00:08:41Z"),
    ]
    first = result.windows[0]
    assert first["mini_batch_id"] == batch_id(OPTIONS, 0)
    assert first["mini_batch_s3_prefix"] == f"{PREFIX}2025/01/15/{batch_id(OPTIONS, 0)}/"
    assert (first["project_name"], first["feature_spec_version"], first["org1"], first["org2"]) == (
        "ndr-acme",
        "v1",
        "acme",
        "finance",
    )
    assert result.output_uri == "s3://artifacts/windows/ndr-acme/windows_20250115_20250116.json"
    document = json.loads(local_batches.read_bytes(result.output_uri))
    assert document["windows"] == result.windows and document["skipped"] == []


def test_date_range_limits_the_folders(local_batches: LocalStorage) -> None:
    result = run_extractor(
        _request(start_date=date(2025, 1, 16)), storage=local_batches, ddb_client=None, table_name="unused"
    )
    assert [w["mini_batch_id"] for w in result.windows] == [batch_id(OPTIONS, 2)]
    assert result.output_uri == "s3://artifacts/windows/ndr-acme/windows_20250116_20250116.json"


def test_folders_that_do_not_fit_are_skipped_with_a_reason(local_batches: LocalStorage) -> None:
    local_batches.write_bytes(f"{PREFIX}2025/01/15/broken/readme.txt", b"not a batch file")
    result = run_extractor(_request(), storage=local_batches, ddb_client=None, table_name="unused")
    assert len(result.windows) == 3
    assert result.skipped[0]["folder"].endswith("/broken/") and ".json.gz" in result.skipped[0]["reason"]


def test_reversed_range_is_an_error(local_batches: LocalStorage) -> None:
    with pytest.raises(RuntimeJobError, match="before start date"):
        run_extractor(
            _request(start_date=date(2025, 2, 1)), storage=local_batches, ddb_client=None, table_name="unused"
        )


@pytest.mark.emulator
def test_s3_routing_resolution_and_listing_cost(
    aws_env: str, params_table: str, routing_table: str, ddb: Any, ddb_put: Any
) -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="ingest-x")
    s3.create_bucket(Bucket="artifacts-x")
    day = "paloalto/acme/finance/ndr-acme/2025/01/15"
    for index in range(40):
        s3.put_object(Bucket="ingest-x", Key=f"{day}/b1/part-{index:05d}.json.gz", Body=b"{}")
    s3.put_object(Bucket="ingest-x", Key=f"{day}/b2/part-00000.json.gz", Body=b"{}")
    ddb_put(
        routing_table,
        {
            "org_key": "acme#finance",
            "org1": "acme",
            "org2": "finance",
            "project_name": "ndr-acme",
            "ingestion_prefix": "s3://ingest-x/paloalto/acme/finance",
            "feature_spec_version": "v1",
            "enabled": True,
        },
    )
    ddb_put(
        routing_table,
        {
            "org_key": "acme#hr",
            "org1": "acme",
            "org2": "hr",
            "project_name": "someone-else",
            "ingestion_prefix": "s3://ingest-x/paloalto/acme/hr",
        },
    )
    ddb_put(
        params_table,
        {
            "project_name": "ndr-acme",
            "job_name": "project_parameters#v1",
            "spec": {"defaults": {"HistoricalWindowsOutputS3Prefix": "s3://artifacts-x/backfill"}},
        },
    )
    listings: list[dict[str, Any]] = []
    client = boto3.client("s3")
    client.meta.events.register("before-call.s3.ListObjectsV2", lambda params, **_: listings.append(params))
    request = ExtractorRequest("ndr-acme", date(2025, 1, 15), date(2025, 1, 15))
    result = run_extractor(
        request, storage=S3Storage(client), ddb_client=ddb, table_name=params_table, routing_table=routing_table
    )
    assert sorted(w["mini_batch_id"] for w in result.windows) == ["b1", "b2"]
    assert {w["feature_spec_version"] for w in result.windows} == {"v1"}
    modified = s3.head_object(Bucket="ingest-x", Key=f"{day}/b2/part-00000.json.gz")["LastModified"]
    b2 = next(w for w in result.windows if w["mini_batch_id"] == "b2")
    assert (b2["batch_start_ts_iso"], b2["batch_end_ts_iso"]) == batch_window(modified)
    assert b2["mini_batch_s3_prefix"] == f"s3://ingest-x/{day}/b2/"
    # one delimiter listing for the day + one listing (one page of up to 1,000 keys) per folder
    assert len(listings) == 3
    queries = [p["query_string"] for p in listings]
    assert queries[0]["delimiter"] == "/" and [q["prefix"].rsplit("/", 2)[-2] for q in queries[1:]] == ["b1", "b2"]
    stored = json.loads(
        s3.get_object(Bucket="artifacts-x", Key="backfill/ndr-acme/windows_20250115_20250115.json")["Body"].read()
    )
    assert stored["windows"] == result.windows


@pytest.mark.emulator
def test_send_task_success_with_windows(task_tokens: Any, local_batches: LocalStorage, aws_env: str) -> None:
    sfn, execution, token = task_tokens.start()
    result = run_extractor(
        _request(task_token=token, output_s3_prefix="s3://artifacts/w"),
        storage=local_batches,
        ddb_client=None,
        table_name="unused",
        sfn_client=sfn,
    )
    described = task_tokens.finished(sfn, execution)
    assert described["status"] == "SUCCEEDED"
    output = json.loads(described["output"])
    assert output == {
        "count": 3,  # a pointer, never the list (SendTaskSuccess carries at most 256 KB)
        "windows_s3_uri": "s3://artifacts/w/ndr-acme/windows_20250115_20250116.json",
        "items_s3_uri": "s3://artifacts/w/ndr-acme/windows_20250115_20250116.items.json",
    }
    assert json.loads(local_batches.read_bytes(output["items_s3_uri"])) == result.windows


@pytest.mark.emulator
def test_send_task_failure_with_cause(task_tokens: Any, local_batches: LocalStorage, aws_env: str) -> None:
    sfn, execution, token = task_tokens.start()
    sent: list[dict[str, Any]] = []
    sfn.meta.events.register("before-call.states.SendTaskFailure", lambda params, **_: sent.append(params))
    with pytest.raises(RuntimeJobError):
        run_extractor(
            _request(task_token=token, start_date=date(2025, 3, 1)),
            storage=local_batches,
            ddb_client=None,
            table_name="unused",
            sfn_client=sfn,
        )
    described = task_tokens.finished(sfn, execution)
    assert described["status"] == "FAILED" and described["error"] == "RuntimeJobError"
    # moto 5.2.5 drops `cause` server-side, so check what went over the wire
    body = json.loads(sent[0]["body"])
    assert body["error"] == "RuntimeJobError" and "is before start date 2025-03-01" in body["cause"]


def test_extractor_spec_nested_prefixes_win_over_project_defaults(
    aws_env: str, params_table: str, routing_table: str, ddb: Any, ddb_put: Any
) -> None:
    """The schema's shape (`input.s3_prefix`, `output.s3_prefix`) is what the extractor reads."""
    s3 = boto3.client("s3")
    for bucket in ("hist-n", "out-n", "defaults-n"):
        s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket="hist-n", Key="raw/acme/finance/ndr-nested/2025/01/15/b9/part-0.json.gz", Body=b"{}")
    ddb_put(
        params_table,
        {
            "project_name": "ndr-nested",
            "job_name": "project_parameters#v1",
            "spec": {"defaults": {"HistoricalWindowsOutputS3Prefix": "s3://defaults-n/backfill"}},
        },
    )
    ddb_put(
        params_table,
        {
            "project_name": "ndr-nested",
            "job_name": "pipeline_backfill_historical_extractor#v1",
            "spec": {"input": {"s3_prefix": "s3://hist-n/raw/acme/finance"}, "output": {"s3_prefix": "s3://out-n/w"}},
        },
    )
    request = ExtractorRequest("ndr-nested", date(2025, 1, 15), date(2025, 1, 15), feature_spec_version="v1")
    result = run_extractor(
        request, storage=S3Storage(s3), ddb_client=ddb, table_name=params_table, routing_table=routing_table
    )
    assert [w["mini_batch_id"] for w in result.windows] == ["b9"]
    assert result.output_uri == "s3://out-n/w/ndr-nested/windows_20250115_20250115.json"


def test_representative_object_is_the_latest_batch_file_and_sidecars_are_ignored(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "s3")
    folder = f"{PREFIX}2025/01/15/b7/"
    times = {
        "_manifest.json": 1736935000,
        "part-00000.json.gz": 1736935500,
        "part-00001.json.gz": 1736935800,
        "zz-notes.txt": 1736936400,
    }
    for name, mtime in times.items():
        storage.write_bytes(folder + name, b"x")
        os.utime(storage.local_path(folder + name), (mtime, mtime))
    result = run_extractor(_request(), storage=storage, ddb_client=None, table_name="unused")
    [window] = result.windows
    assert (window["batch_start_ts_iso"], window["batch_end_ts_iso"]) == batch_window(1736935800)
    assert result.skipped == []


def test_the_same_batch_on_two_days_is_emitted_once(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "s3")
    for day, mtime in (("2025/01/15", 1736985400), ("2025/01/16", 1736986000)):  # 23:56:40, 00:06:40
        uri = f"{PREFIX}{day}/b9/part-00000.json.gz"
        storage.write_bytes(uri, b"x")
        os.utime(storage.local_path(uri), (mtime, mtime))
    result = run_extractor(_request(), storage=storage, ddb_client=None, table_name="unused")
    [window] = result.windows
    assert window["mini_batch_s3_prefix"] == f"{PREFIX}2025/01/16/b9/"
    assert [s["folder"] for s in result.skipped] == [f"{PREFIX}2025/01/15/b9/"]
    assert "also under" in result.skipped[0]["reason"]


def test_input_prefix_without_the_project_segment_names_the_layout(local_batches: LocalStorage) -> None:
    request = _request(input_s3_prefix="s3://ingest/paloalto/acme/finance/")
    expected = r"must end with the project segment 'ndr-acme'.*<org1>/<org2>/<project_name>/"
    with pytest.raises(RuntimeJobError, match=expected):
        run_extractor(request, storage=local_batches, ddb_client=None, table_name="unused")
