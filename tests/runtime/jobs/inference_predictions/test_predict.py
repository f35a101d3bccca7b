"""inference_predictions against the real model server through the real boto3 client, recomputed in DuckDB."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from devtools.fixture_model import IsolationForestModel, fit_fixture_model
from runtime.errors import RuntimeJobError
from runtime.inference.invoke import backoff_delay
from runtime.jobs.inference_predictions.predict import run_inference
from runtime.jobs.inference_predictions.spec import InferenceSpec
from runtime.modelops.attributes import write_attributes
from runtime.serving.faults import FaultPlan
from runtime.serving.server import ModelServer, ServerConfig
from runtime.storage import LocalStorage
from tests.runtime.jobs.inference_predictions.conftest import (
    BATCH,
    FEATURES,
    FG_A,
    FG_C,
    PROJECT,
    VERSION,
    runtime_client,
    write_bundles,
)

OUT = "s3://features/ndr-prod/v1/predictions/"
JOIN_OUT = "s3://features/ndr-prod/v1/prediction_feature_join/"
ATTRS = "s3://models/ndr-prod/v1/if_training/attributes/"
KEYS = ("host_ip", "window_label", "window_end_ts")


def make_spec(**model: Any) -> InferenceSpec:
    payload: dict[str, Any] = {
        "feature_inputs": {"fg_a": {"s3_prefix": FG_A}, "fg_c": {"s3_prefix": FG_C, "required": True}},
        "model": {
            "endpoint_name": "ndr-prod-if-v1",
            "model_name": "iforest",
            "max_workers": 4,
            "max_records_per_payload": 16,
            "backoff_seconds": 0.01,
            "max_retries": 3,
            **model,
        },
        "prediction_schema": {"score_column": "anomaly_score", "label_column": "is_anomaly"},
        "output": {"s3_prefix": OUT},
        "join_output": {"s3_prefix": JOIN_OUT},
    }
    return InferenceSpec.from_payload(payload, "test", PROJECT, VERSION)


def leaf_files(storage: LocalStorage, prefix: str) -> list[Path]:
    return sorted(storage.local_path(prefix).glob("feature_spec_version=*/dt=*/mini_batch_id=*/*.parquet"))


def expected_join(storage: LocalStorage) -> list[dict[str, Any]]:
    """DuckDB over the same files: FG-A inner join FG-C on the join keys, in key order."""
    fg_a = leaf_files(storage, FG_A)[0]
    fg_c = leaf_files(storage, FG_C)[0]
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    rows = con.execute(
        f"""
        SELECT a.host_ip, a.window_label, a.window_end_ts, {", ".join("a." + f for f in FEATURES[:3])},
               {", ".join("c." + f for f in FEATURES[3:])}
        FROM read_parquet('{fg_a}') a JOIN read_parquet('{fg_c}') c
          ON a.host_ip = c.host_ip AND a.window_label = c.window_label AND a.window_end_ts = c.window_end_ts
        ORDER BY a.host_ip, a.window_label, a.window_end_ts
        """
    ).fetchall()
    names = ["host_ip", "window_label", "window_end_ts", *FEATURES]
    return [dict(zip(names, row, strict=True)) for row in rows]


def read_output(storage: LocalStorage, prefix: str) -> pa.Table:
    files = leaf_files(storage, prefix)
    assert len(files) == 1
    assert files[0].parent.relative_to(storage.local_path(prefix)).as_posix() == (
        f"feature_spec_version={VERSION}/dt={BATCH.dt}/mini_batch_id={BATCH.mini_batch_id}"
    )
    return pq.read_table(files[0])


@pytest.fixture
def bundles(storage: LocalStorage) -> LocalStorage:
    write_bundles(storage)
    return storage


def test_predictions_equal_direct_scoring_of_the_joined_features(
    bundles: LocalStorage, model_server: ModelServer, feature_model: IsolationForestModel
) -> None:
    expected = expected_join(bundles)
    scores = feature_model.score([[None if r[f] is None else float(r[f]) for f in FEATURES] for r in expected])
    threshold = sorted(scores)[45]  # about the top 10% are anomalous
    write_attributes(
        bundles,
        ATTRS,
        {"model_version": "if-test-1", "feature_names": list(FEATURES), "thresholds": {"score_threshold": threshold}},
    )
    spec = make_spec(attributes_s3_prefix=ATTRS)
    result = run_inference(spec, BATCH, bundles, runtime_client(model_server.url), "test", seed=1)

    got = read_output(bundles, OUT).to_pylist()
    assert [(g["host_ip"], g["window_label"], g["window_end_ts"]) for g in got] == [
        (e["host_ip"], e["window_label"], e["window_end_ts"]) for e in expected
    ]
    assert [g["anomaly_score"] for g in got] == scores  # exact: shortest repr round-trips the float
    assert [g["is_anomaly"] for g in got] == [s >= threshold for s in scores]
    assert {(g["model_version"], g["model_name"], g["project_name"]) for g in got} == {
        ("if-test-1", "iforest", PROJECT)
    }
    assert 5 <= sum(g["is_anomaly"] for g in got) < 50  # ties at the threshold may add a row

    joined = read_output(bundles, JOIN_OUT).to_pylist()
    assert [{k: j[k] for k in ("host_ip", "window_label", "window_end_ts", *FEATURES)} for j in joined] == expected
    assert [j["anomaly_score"] for j in joined] == scores

    metrics = json.loads(bundles.read_bytes(result.metrics_uri))
    assert metrics["records"] == len(expected) == 50
    assert metrics["payloads"] == math.ceil(50 / 16) and metrics["retries"] == 0 and metrics["failed_payloads"] == 0
    assert set(metrics["latency_ms"]) == {"p50", "p90", "p99", "max"}
    assert metrics["latency_ms"]["p50"] <= metrics["latency_ms"]["p99"] <= metrics["latency_ms"]["max"]
    assert metrics["feature_columns"] == list(FEATURES) and metrics["skipped_inputs"] == []
    assert [r.records for r in model_server.requests] and sum(r.records for r in model_server.requests) == 50


def test_without_attributes_every_numeric_feature_is_sent_and_labels_are_null(
    bundles: LocalStorage, model_server: ModelServer, feature_model: IsolationForestModel
) -> None:
    result = run_inference(
        make_spec(content_type="application/json"), BATCH, bundles, runtime_client(model_server.url), "test"
    )
    assert result.metrics["feature_columns"] == list(FEATURES)
    got = read_output(bundles, OUT).to_pylist()
    assert {g["is_anomaly"] for g in got} == {None}
    expected = expected_join(bundles)
    assert [g["anomaly_score"] for g in got] == feature_model.score(
        [[None if r[f] is None else float(r[f]) for f in FEATURES] for r in expected]
    )


@pytest.mark.parametrize("content_type", ["text/csv", "application/json"])
def test_payload_bounds_hold_for_every_request_the_server_saw(
    bundles: LocalStorage, model_server: ModelServer, content_type: str
) -> None:
    max_bytes = 600
    spec = make_spec(content_type=content_type, max_records_per_payload=7, max_payload_mb=max_bytes / 1024 / 1024)
    result = run_inference(spec, BATCH, bundles, runtime_client(model_server.url), "test")
    seen = model_server.requests
    assert len(seen) == result.metrics["payloads"]
    assert all(r.records <= 7 and r.body_bytes <= max_bytes for r in seen)
    assert sum(r.records for r in seen) == 50
    assert max(r.body_bytes for r in seen) > max_bytes // 2  # the byte bound, not only the count, shaped them
    by_count = make_spec(content_type=content_type, max_records_per_payload=7)
    model_server_count = len(seen)
    run_inference(by_count, BATCH, bundles, runtime_client(model_server.url), "test")
    assert len(model_server.requests) - model_server_count == math.ceil(50 / 7)


def test_throttling_and_5xx_are_retried_with_jittered_backoff(
    bundles: LocalStorage, feature_model: IsolationForestModel
) -> None:
    plan = FaultPlan(script=("throttle", "unavailable", "error", "throttle"))
    with ModelServer(feature_model, ServerConfig(faults=plan)) as server:
        spec = make_spec(max_workers=1, max_records_per_payload=64, backoff_seconds=0.02, max_retries=4)
        result = run_inference(spec, BATCH, bundles, runtime_client(server.url), "test", seed=9)
        statuses = [r.status for r in server.requests]
    assert statuses == [429, 503, 500, 429, 200]
    metrics = result.metrics
    assert metrics["retries"] == 4 and metrics["failed_payloads"] == 0
    assert metrics["errors_by_code"] == {"InternalFailure": 1, "ServiceUnavailable": 1, "ThrottlingException": 2}
    report = json.loads(bundles.read_bytes(result.metrics_uri))
    assert report["status"] == "ok" and report["requests"] == 5
    rng = random.Random("9:0")
    delays = [backoff_delay(0.02, n, rng) for n in range(1, 5)]
    assert all(0 <= d <= 0.02 * 2 ** (n - 1) for n, d in enumerate(delays, start=1))
    assert len(read_output(bundles, OUT)) == 50


def test_exhausted_retries_fail_with_a_report_and_write_no_predictions(
    bundles: LocalStorage, feature_model: IsolationForestModel
) -> None:
    plan = FaultPlan(script=("error",) * 3)
    with ModelServer(feature_model, ServerConfig(faults=plan)) as server:
        spec = make_spec(max_workers=1, max_records_per_payload=64, max_retries=2)
        with pytest.raises(RuntimeJobError, match=r"1 of 1 payloads failed after retries .*InternalFailure"):
            run_inference(spec, BATCH, bundles, runtime_client(server.url), "test")
        assert len(server.requests) == 3
    report = json.loads(
        bundles.read_bytes(f"{OUT}_metrics/inference_predictions/mini_batch_id={BATCH.mini_batch_id}.json")
    )
    assert report["status"] == "failed" and report["failed_payloads"] == 1 and report["failed_records"] == 50
    assert report["failures"][0]["attempts"] == 3 and "InternalFailure (HTTP 500)" in report["failures"][0]["error"]
    assert leaf_files(bundles, OUT) == []


def test_slow_responses_time_out_and_are_retried(bundles: LocalStorage, feature_model: IsolationForestModel) -> None:
    plan = FaultPlan(script=("slow",), slow_seconds=1.5)
    with ModelServer(feature_model, ServerConfig(faults=plan)) as server:
        spec = make_spec(max_workers=1, max_records_per_payload=64, timeout_seconds=0.4)
        result = run_inference(spec, BATCH, bundles, runtime_client(server.url, timeout=0.4), "test")
    assert result.metrics["errors_by_code"] == {"ReadTimeout": 1} and result.metrics["retries"] == 1


def test_server_side_413_is_not_retried(bundles: LocalStorage, feature_model: IsolationForestModel) -> None:
    with ModelServer(feature_model, ServerConfig(max_payload_bytes=100)) as server:
        spec = make_spec(max_workers=2, max_records_per_payload=25, max_retries=3)
        with pytest.raises(RuntimeJobError, match="2 of 2 payloads failed"):
            run_inference(spec, BATCH, bundles, runtime_client(server.url), "test")
        assert [r.status for r in server.requests] == [413, 413]


def test_required_input_missing_names_its_prefix(storage: LocalStorage, model_server: ModelServer) -> None:
    with pytest.raises(
        RuntimeJobError, match=r"required feature input 'fg_a' .* under s3://features/ndr-prod/v1/fg_a/"
    ):
        run_inference(make_spec(), BATCH, storage, runtime_client(model_server.url), "test")


def test_optional_input_missing_is_skipped_and_reported(storage: LocalStorage) -> None:
    write_bundles(storage)
    missing = "s3://features/ndr-prod/v1/nothing_here/"
    payload = {
        "feature_inputs": {
            "fg_a": {"s3_prefix": FG_A},
            "fg_x": {"s3_prefix": missing, "required": False, "dataset": "extra"},
        },
        "model": {"endpoint_name": "e", "max_records_per_payload": 100},
        "payload": {"feature_columns": list(FEATURES[:3])},
        "output": {"s3_prefix": OUT},
    }
    spec = InferenceSpec.from_payload(payload, "test", PROJECT, VERSION)
    with ModelServer(fit_fixture_model(FEATURES[:3], seed=5)) as server:  # a model of the FG-A features
        result = run_inference(spec, BATCH, storage, runtime_client(server.url), "test")
    assert result.metrics["skipped_inputs"] == [
        {"input": "fg_x", "dataset": "extra", "s3_prefix": missing, "reason": "no rows for this batch"}
    ]
    assert result.metrics["records"] == 60  # FG-A alone: no inner join with FG-C


def test_feature_columns_must_match_the_models_attributes(bundles: LocalStorage, model_server: ModelServer) -> None:
    write_attributes(bundles, ATTRS, {"model_version": "if-test-1", "feature_names": list(FEATURES)})
    payload = {
        "feature_inputs": {"fg_a": {"s3_prefix": FG_A}},
        "model": {"endpoint_name": "e", "attributes_s3_prefix": ATTRS},
        "payload": {"feature_columns": list(reversed(FEATURES))},
        "output": {"s3_prefix": OUT},
    }
    spec = InferenceSpec.from_payload(payload, "test", PROJECT, VERSION)
    with pytest.raises(RuntimeJobError, match="differ from model if-test-1's features"):
        run_inference(spec, BATCH, bundles, runtime_client(model_server.url), "test")


def test_rerun_replaces_the_batch_partition(bundles: LocalStorage, model_server: ModelServer) -> None:
    client = runtime_client(model_server.url)
    run_inference(make_spec(), BATCH, bundles, client, "test")
    first = read_output(bundles, OUT)
    run_inference(make_spec(), BATCH, bundles, client, "test")
    assert read_output(bundles, OUT).equals(first)


class Endpoints:
    """DescribeEndpoint's answer as data (the boto3 path is covered through the emulator in the demo test)."""

    def __init__(self, *deployed: str) -> None:
        self.deployed = set(deployed)
        self.asked: list[str] = []

    def __call__(self, name: str) -> bool:
        self.asked.append(name)
        return name in self.deployed


def test_no_model_in_service_skips_with_an_explicit_outcome_and_writes_no_predictions(bundles: LocalStorage) -> None:
    endpoints = Endpoints()
    result = run_inference(
        make_spec(attributes_s3_prefix=ATTRS, model_version="if-test-1"),
        BATCH,
        bundles,
        runtime_client("http://127.0.0.1:9"),
        "test",
        endpoint_exists=endpoints,
    )
    assert result.output_uris == [] and leaf_files(bundles, OUT) == [] and leaf_files(bundles, JOIN_OUT) == []
    assert endpoints.asked == ["ndr-prod-if-v1"]
    written = json.loads(bundles.read_bytes(result.metrics_uri))
    assert written["status"] == "skipped" and written["mini_batch_id"] == BATCH.mini_batch_id
    assert written["reason"] == (
        f"skipped: no model in service (endpoint ndr-prod-if-v1 is not deployed and no attributes under {ATTRS})"
    )


def test_a_deployed_endpoint_without_the_pinned_attributes_still_fails_loudly(bundles: LocalStorage) -> None:
    with pytest.raises(RuntimeJobError, match=r"no model attributes at .*if-test-1/attributes\.json"):
        run_inference(
            make_spec(attributes_s3_prefix=ATTRS, model_version="if-test-1"),
            BATCH,
            bundles,
            runtime_client("http://127.0.0.1:9"),
            "test",
            endpoint_exists=Endpoints("ndr-prod-if-v1"),
        )


def test_attributes_of_another_version_without_an_endpoint_still_fail_loudly(bundles: LocalStorage) -> None:
    write_attributes(bundles, ATTRS, {"model_version": "if-old", "feature_names": list(FEATURES)})
    with pytest.raises(RuntimeJobError, match=r"no model attributes at .*if-test-1/attributes\.json"):
        run_inference(
            make_spec(attributes_s3_prefix=ATTRS, model_version="if-test-1"),
            BATCH,
            bundles,
            runtime_client("http://127.0.0.1:9"),
            "test",
            endpoint_exists=Endpoints(),
        )


def test_with_a_model_in_service_the_check_lets_scoring_run(
    bundles: LocalStorage, model_server: ModelServer, feature_model: IsolationForestModel
) -> None:
    endpoints = Endpoints("ndr-prod-if-v1")
    result = run_inference(
        make_spec(), BATCH, bundles, runtime_client(model_server.url), "test", endpoint_exists=endpoints
    )
    assert result.metrics["status"] == "ok" and len(read_output(bundles, OUT)) == result.metrics["output_rows"] > 0
