"""The pair counts builder on a hand-made batch folder: counts, filters, segments, idempotent re-run."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest

from runtime.batch import BatchContext
from runtime.jobs.pair_counts_builder.builder import run_pair_counts_builder
from runtime.jobs.pair_counts_builder.spec import PairCountsJobSpec

pytestmark = pytest.mark.spark

OUT = "s3://features/pair_counts/"
MAPPING = {
    "source_ip": "src",
    "destination_ip": "dst",
    "destination_port": "dport",
    "event_start": "start",
    "event_end": "time_generated",
}
ROWS = [
    {
        "src": "10.1.0.5",
        "dst": "10.0.0.10",
        "dport": 1433,
        "start": "2025-01-15T10:01:00Z",
        "time_generated": "2025-01-15T10:02:00Z",
    },
    {
        "src": "10.1.0.5",
        "dst": "10.0.0.10",
        "dport": 1433,
        "start": "2025-01-15T10:03:00Z",
        "time_generated": "2025-01-15T10:05:00Z",
    },
    {
        "src": "10.1.0.5",
        "dst": "52.1.2.3",
        "dport": 443,
        "start": "2025-01-15T10:04:00Z",
        "time_generated": "2025-01-15T10:04:30Z",
    },
    {
        "src": "10.1.0.5",
        "dst": None,
        "dport": 443,
        "start": "2025-01-15T10:04:00Z",
        "time_generated": "2025-01-15T10:04:30Z",
    },
    {
        "src": "10.1.0.7",
        "dst": "10.0.0.10",
        "dport": None,
        "start": "2025-01-15T10:06:00Z",
        "time_generated": "2025-01-15T10:06:30Z",
    },
    {
        "src": "",
        "dst": "10.0.0.10",
        "dport": 22,
        "start": "2025-01-15T10:06:00Z",
        "time_generated": "2025-01-15T10:06:30Z",
    },
]
BATCH = BatchContext("ndr-acme", "v1", "b1", "2025-01-15T10:08:00Z", "2025-01-15T10:09:12Z")


def make_spec(**overrides: Any) -> PairCountsJobSpec:
    payload: dict[str, Any] = {
        "traffic_input": {"s3_prefix": "s3://ingest/pairs", "field_mapping": MAPPING},
        "pair_counts_output": {"s3_prefix": OUT},
        "segment_mapping": {
            "segments": [{"name": "servers", "cidrs": ["10.0.0.0/24"]}, {"name": "clients", "cidrs": ["10.1.0.0/16"]}],
            "default": "external",
        },
        **overrides,
    }
    return PairCountsJobSpec.from_payload(
        payload, "t", project_name="ndr-acme", job_name="pair_counts_builder", version="v1"
    )


def counts(spark: Any, storage: Any) -> list[tuple[Any, ...]]:
    frame = spark.read.parquet(storage.spark_uri(OUT))
    keys = (
        "source_ip",
        "destination_ip",
        "destination_port",
        "source_segment",
        "destination_segment",
        "event_count",
        "first_seen",
        "last_seen",
    )
    return sorted((tuple(row[k] for k in keys) for row in frame.collect()), key=str)


def test_counts_segments_filters_and_rerun(spark: Any, storage: Any, jsonl_gz: Any) -> None:
    jsonl_gz(storage, "s3://ingest/pairs/b1/part-00000.json.gz", ROWS)
    result = run_pair_counts_builder(spark, make_spec(), BATCH, storage)
    expected = [
        (
            "10.1.0.5",
            "10.0.0.10",
            1433,
            "clients",
            "servers",
            2,
            datetime(2025, 1, 15, 10, 1),
            datetime(2025, 1, 15, 10, 5),
        ),
        (
            "10.1.0.5",
            "52.1.2.3",
            443,
            "clients",
            "external",
            1,
            datetime(2025, 1, 15, 10, 4),
            datetime(2025, 1, 15, 10, 4, 30),
        ),
    ]
    assert counts(spark, storage) == expected
    metrics = json.loads(storage.read_bytes(result.metrics_uri))
    assert (metrics["rows_in"], metrics["null_ips"], metrics["null_destination_port"]) == (6, 2, 1)
    assert result.partition_keys == ("feature_spec_version", "dt", "mini_batch_id")
    run_pair_counts_builder(spark, make_spec(), BATCH, storage)
    assert counts(spark, storage) == expected
    row = spark.read.parquet(storage.spark_uri(OUT)).first()
    assert (row["project_name"], row["mini_batch_id"], row["batch_end_ts"]) == (
        "ndr-acme",
        "b1",
        datetime(2025, 1, 15, 10, 9, 12),
    )


def test_filters_off_and_no_segments(spark: Any, storage: Any, jsonl_gz: Any) -> None:
    jsonl_gz(storage, "s3://ingest/pairs/b1/part-00000.json.gz", ROWS)
    spec = make_spec(filters={"require_destination_port": False, "require_nonnull_ips": False})
    spec = PairCountsJobSpec(**{**spec.__dict__, "segment_mapping": None})
    run_pair_counts_builder(spark, spec, BATCH, storage)
    frame = spark.read.parquet(storage.spark_uri(OUT))
    assert "source_segment" not in frame.columns
    got = sorted(
        (
            (r["source_ip"], r["destination_ip"], r["destination_port"], r["event_count"])
            for r in frame.collect()
            if r["source_ip"] != "10.1.0.5" or r["destination_ip"] is None
        ),
        key=str,
    )
    assert got == sorted(
        [(None, "10.0.0.10", 22, 1), ("10.1.0.7", "10.0.0.10", None, 1), ("10.1.0.5", None, 443, 1)], key=str
    )
    assert frame.count() == 5


def test_segment_file_and_mini_batch_prefix_layout(spark: Any, storage: Any, jsonl_gz: Any) -> None:
    storage.write_bytes(
        "s3://config/segments.json", json.dumps({"segments": [{"name": "dc", "cidrs": ["10.0.0.0/8"]}]}).encode()
    )
    jsonl_gz(storage, "s3://ingest/raw/2025/01/15/b9/part-00000.json.gz", ROWS[:3])
    spec = make_spec(
        segment_mapping={"location": "s3://config/segments.json"},
        traffic_input={"s3_prefix": "s3://unused", "layout": "mini_batch_prefix", "field_mapping": MAPPING},
    )
    batch = BatchContext(
        "ndr-acme", "v1", "b9", "2025-01-15T10:08:00Z", "2025-01-15T10:09:12Z", "s3://ingest/raw/2025/01/15/b9/"
    )
    run_pair_counts_builder(spark, spec, batch, storage)
    assert [(r[3], r[4], r[5]) for r in counts(spark, storage)] == [("dc", "dc", 2), ("dc", "unmapped", 1)]


@pytest.mark.parametrize(
    ("body", "rows_in"),
    [(b"", 0), (b"garbage\nnot json either\n", 2)],
    ids=["zero_rows", "only_garbage"],
)
def test_metrics_keep_every_count_when_nothing_survives(spark: Any, storage: Any, body: bytes, rows_in: int) -> None:
    import gzip

    storage.write_bytes("s3://ingest/pairs/b1/part-00000.json.gz", gzip.compress(body, mtime=0))
    result = run_pair_counts_builder(spark, make_spec(), BATCH, storage)
    metrics = json.loads(storage.read_bytes(result.metrics_uri))
    assert (metrics["rows_in"], metrics["null_ips"], metrics["null_destination_port"]) == (rows_in, rows_in, rows_in)
