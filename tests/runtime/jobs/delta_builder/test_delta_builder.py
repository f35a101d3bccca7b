"""The delta builder end to end on a hand-made Palo Alto batch: output rows, metrics, idempotent re-runs."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest

from devtools.traffic import PALOALTO_FIELD_MAPPING
from runtime.batch import BatchContext
from runtime.errors import RuntimeJobError, SpecError
from runtime.jobs.delta_builder.builder import run_delta_builder
from runtime.jobs.delta_builder.spec import DeltaJobSpec

pytestmark = pytest.mark.spark

OUT = "s3://features/delta/"
PAYLOAD: dict[str, Any] = {
    "project_name": "ndr-acme",
    "job_name": "delta_builder",
    "feature_spec_version": "v1",
    "input": {
        "s3_prefix": "s3://ingest/unused/",
        "format": "json",
        "compression": "gzip",
        "schema_projection": [*PALOALTO_FIELD_MAPPING.values(), "app"],
        "field_mapping": PALOALTO_FIELD_MAPPING,
    },
    "dq": {"emit_metrics": True},
    "enrichment": {"vdi_hostname_prefixes": ["vdi-"], "port_sets_location": "s3://config/port_sets.json"},
    "operators": [
        {"type": "drop_self_traffic"},
        {"type": "window_bucket", "params": {"minutes": 15}},
        {"type": "ip_scope"},
        {"type": "port_class"},
    ],
    "output": {"s3_prefix": OUT, "format": "parquet", "partition_keys": ["feature_spec_version", "dt"]},
}


def pan(
    src: str,
    dst: str,
    sport: int,
    dport: int,
    sent: int,
    received: int,
    start: str,
    end: str,
    src_host: str = "",
    dst_host: str = "",
    app: str = "ssl",
) -> dict[str, Any]:
    return {
        "type": "TRAFFIC",
        "src": src,
        "dst": dst,
        "sport": sport,
        "dport": dport,
        "bytes_sent": sent,
        "bytes_received": received,
        "start": start,
        "time_generated": end,
        "src_host": src_host,
        "dst_host": dst_host,
        "app": app,
        "from": "trust",
        "to": "untrust",
        "action": "allow",
    }


BATCH_1 = [
    pan(
        "10.1.0.5",
        "10.0.0.10",
        50001,
        1433,
        1000,
        5000,
        "2025-01-15T10:01:00Z",
        "2025-01-15T10:01:30Z",
        "VDI-fin-01",
        "srv-db",
        "mssql-db",
    ),
    pan("10.1.0.6", "52.1.2.3", 50002, 443, 300, 7000, "2025-01-15T10:14:50Z", "2025-01-15T10:16:00Z", "wks-1"),
    pan("10.1.0.6", "10.0.0", 50003, 443, 1, 1, "2025-01-15T10:02:00Z", "2025-01-15T10:02:01Z"),
    pan("10.1.0.6", "10.1.0.6", 50004, 8080, 10, 10, "2025-01-15T10:05:00Z", "2025-01-15T10:05:01Z"),
]
COLUMNS = (
    "role",
    "host_ip",
    "host_port",
    "host_hostname",
    "host_is_vdi",
    "peer_ip",
    "peer_port",
    "peer_hostname",
    "peer_is_vdi",
    "peer_port_set",
    "bytes_sent",
    "bytes_recv",
    "duration_s",
    "window_label",
    "host_is_internal",
    "peer_is_internal",
    "peer_port_class",
    "app",
)
EXPECTED_1 = sorted(
    [
        (
            "outbound",
            "10.1.0.5",
            50001,
            "VDI-fin-01",
            True,
            "10.0.0.10",
            1433,
            "srv-db",
            False,
            "database",
            1000,
            5000,
            30.0,
            "2025-01-15T10:00:00Z",
            True,
            True,
            "registered",
            "mssql-db",
        ),
        (
            "inbound",
            "10.0.0.10",
            1433,
            "srv-db",
            False,
            "10.1.0.5",
            1433,
            "VDI-fin-01",
            True,
            "database",
            5000,
            1000,
            30.0,
            "2025-01-15T10:00:00Z",
            True,
            True,
            "registered",
            "mssql-db",
        ),
        (
            "outbound",
            "10.1.0.6",
            50002,
            "wks-1",
            False,
            "52.1.2.3",
            443,
            None,
            False,
            "web",
            300,
            7000,
            70.0,
            "2025-01-15T10:00:00Z",
            True,
            False,
            "well_known",
            "ssl",
        ),
        (
            "inbound",
            "52.1.2.3",
            443,
            None,
            False,
            "10.1.0.6",
            443,
            "wks-1",
            False,
            "web",
            7000,
            300,
            70.0,
            "2025-01-15T10:00:00Z",
            False,
            True,
            "well_known",
            "ssl",
        ),
    ]
)


def batch(mini_batch_id: str) -> BatchContext:
    return BatchContext(
        "ndr-acme",
        "v1",
        mini_batch_id,
        "2025-01-15T10:08:00Z",
        "2025-01-15T10:16:41Z",
        f"s3://ingest/paloalto/acme/finance/ndr-acme/2025/01/15/{mini_batch_id}/",
    )


@pytest.fixture
def spec(storage: Any) -> DeltaJobSpec:
    storage.write_bytes(
        "s3://config/port_sets.json",
        json.dumps({"port_sets": {"database": [1433, "5432"], "web": [80, 443, "8000-8099"]}}).encode(),
    )
    return DeltaJobSpec.from_payload(PAYLOAD, "test")


def write_batch(storage: Any, jsonl_gz: Any, mini_batch_id: str, rows: list[dict[str, Any]]) -> None:
    jsonl_gz(storage, f"{batch(mini_batch_id).mini_batch_s3_prefix}part-00000.json.gz", rows)


def output(spark: Any, storage: Any) -> Any:
    return spark.read.parquet(storage.spark_uri(OUT))


def test_output_rows_schema_and_metrics(spark: Any, storage: Any, jsonl_gz: Any, spec: DeltaJobSpec) -> None:
    write_batch(storage, jsonl_gz, "b1", BATCH_1)
    result = run_delta_builder(spark, spec, batch("b1"), storage)
    frame = output(spark, storage)
    assert sorted(tuple(row[c] for c in COLUMNS) for row in frame.collect()) == EXPECTED_1
    first = frame.filter("role = 'outbound' AND host_ip = '10.1.0.5'").first()
    assert (first["project_name"], first["feature_spec_version"], first["mini_batch_id"]) == ("ndr-acme", "v1", "b1")
    assert first["batch_start_ts"] == datetime(2025, 1, 15, 10, 8) and str(first["dt"]) == "2025-01-15"
    assert first["event_start"] == datetime(2025, 1, 15, 10, 1) and first["window_end"] == datetime(2025, 1, 15, 10, 15)
    assert result.partition_keys == ("feature_spec_version", "dt", "mini_batch_id")
    assert storage.local_path(OUT + "feature_spec_version=v1/dt=2025-01-15/mini_batch_id=b1").is_dir()
    metrics = json.loads(storage.read_bytes(result.metrics_uri))
    assert result.metrics_uri == OUT + "_metrics/delta_builder/mini_batch_id=b1.json"
    assert (metrics["rows_in"], metrics["rows_valid"], metrics["rows_out"]) == (4, 3, 4)
    assert metrics["dropped"]["drop_malformed_ip"] == 1 and sum(metrics["dropped"].values()) == 1


def test_rerun_is_idempotent_and_replaces_only_its_batch(
    spark: Any, storage: Any, jsonl_gz: Any, spec: DeltaJobSpec
) -> None:
    write_batch(storage, jsonl_gz, "b1", BATCH_1)
    write_batch(storage, jsonl_gz, "b2", [BATCH_1[1]])
    run_delta_builder(spark, spec, batch("b1"), storage)
    run_delta_builder(spark, spec, batch("b2"), storage)
    first = sorted(tuple(r) for r in output(spark, storage).collect())
    assert len(first) == 6
    run_delta_builder(spark, spec, batch("b1"), storage)
    assert sorted(tuple(r) for r in output(spark, storage).collect()) == first
    write_batch(storage, jsonl_gz, "b1", [BATCH_1[0]])  # the batch is redelivered with one flow only
    run_delta_builder(spark, spec, batch("b1"), storage)
    counts = {r["mini_batch_id"]: r["count"] for r in output(spark, storage).groupBy("mini_batch_id").count().collect()}
    assert counts == {"b1": 2, "b2": 2}


def test_no_metrics_file_when_disabled_and_missing_input_is_readable(spark: Any, storage: Any, jsonl_gz: Any) -> None:
    payload = {**PAYLOAD, "dq": {"emit_metrics": False}, "enrichment": {}, "operators": []}
    spec = DeltaJobSpec.from_payload(payload, "test")
    write_batch(storage, jsonl_gz, "b3", BATCH_1[:1])
    result = run_delta_builder(spark, spec, batch("b3"), storage)
    assert result.metrics_uri is None and not storage.exists(OUT + "_metrics/delta_builder/mini_batch_id=b3.json")
    assert result.metrics["rows_out"] == 2
    with pytest.raises(RuntimeJobError, match=r"no input objects under s3://ingest/.*/b404/"):
        run_delta_builder(spark, spec, batch("b404"), storage)


def test_partition_key_must_be_an_output_column(spark: Any, storage: Any, jsonl_gz: Any) -> None:
    payload = {**PAYLOAD, "enrichment": {}, "output": {"s3_prefix": OUT, "partition_keys": ["window_label"]}}
    write_batch(storage, jsonl_gz, "b4", BATCH_1[:1])
    with pytest.raises(SpecError, match=r"partition_keys \['window_label'\] are not output columns"):
        run_delta_builder(spark, DeltaJobSpec.from_payload({**payload, "operators": []}, "t"), batch("b4"), storage)


def test_special_characters_in_the_root_and_the_batch_id(spark: Any, tmp_path: Any, jsonl_gz: Any) -> None:
    from runtime.storage import LocalStorage

    storage = LocalStorage(tmp_path / "storage root")
    storage.write_bytes("s3://config/port_sets.json", json.dumps({"port_sets": {"web": [80, 443]}}).encode())
    batch_id = "id=a+b"
    write_batch(storage, jsonl_gz, batch_id, BATCH_1)
    result = run_delta_builder(spark, DeltaJobSpec.from_payload(PAYLOAD, "test"), batch(batch_id), storage)
    assert result.metrics["rows_in"] == 4 and result.metrics["rows_out"] == 4
    assert {r["mini_batch_id"] for r in output(spark, storage).collect()} == {batch_id}


def test_corrupt_gzip_fails_in_one_line_without_a_stack_trace(
    spark: Any, storage: Any, spec: DeltaJobSpec, capfd: pytest.CaptureFixture[str]
) -> None:
    storage.write_bytes(f"{batch('b5').mini_batch_s3_prefix}part-00000.json.gz", b'{"src": "10.0.0.1"}\n')
    with pytest.raises(RuntimeJobError) as raised:
        run_delta_builder(spark, spec, batch("b5"), storage)
    assert str(raised.value) == f"{batch('b5').mini_batch_s3_prefix}part-00000.json.gz: corrupt gzip (not a gzip file)"
    assert "\tat " not in capfd.readouterr().err  # the executor's Java stack trace is not logged
