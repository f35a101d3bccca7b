"""pipeline_prediction_feature_join: the predictions of a batch joined with its bundles, recomputed in DuckDB."""

from __future__ import annotations

import json
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest

from runtime.entrypoint import main
from runtime.errors import RuntimeJobError
from runtime.jobs.inference_predictions.predict import run_inference
from runtime.jobs.inference_predictions.spec import InferenceSpec
from runtime.jobs.pipeline_prediction_feature_join.join import run_join
from runtime.jobs.pipeline_prediction_feature_join.spec import PredictionFeatureJoinSpec
from runtime.serving.server import ModelServer
from runtime.storage import LocalStorage
from tests.runtime.conftest import put_item
from tests.runtime.jobs.inference_predictions.conftest import (
    BATCH,
    FEATURES,
    FG_A,
    FG_C,
    PROJECT,
    VERSION,
    batch_argv,
    runtime_client,
    write_bundles,
)

PREDICTIONS = "s3://features/ndr-prod/v1/predictions/"
OUT = "s3://features/ndr-prod/v1/prediction_feature_join/"


def join_spec(join_type: str) -> PredictionFeatureJoinSpec:
    payload = {
        "predictions_input": {"s3_prefix": PREDICTIONS},
        "feature_inputs": {"fg_a": {"s3_prefix": FG_A}, "fg_c": {"s3_prefix": FG_C, "required": False}},
        "join_type": join_type,
        "output": {"s3_prefix": OUT},
    }
    return PredictionFeatureJoinSpec.from_payload(payload, "test")


def score_batch(storage: LocalStorage, url: str, only_fg_a: bool = False) -> None:
    inputs: dict[str, Any] = {"fg_a": {"s3_prefix": FG_A}}
    if not only_fg_a:
        inputs["fg_c"] = {"s3_prefix": FG_C}
    payload = {
        "feature_inputs": inputs,
        "model": {"endpoint_name": "e", "model_name": "iforest"},
        "output": {"s3_prefix": PREDICTIONS},
    }
    run_inference(
        InferenceSpec.from_payload(payload, "test", PROJECT, VERSION), BATCH, storage, runtime_client(url), "test"
    )


def duck(storage: LocalStorage, join_type: str) -> list[tuple[Any, ...]]:
    def leaf(prefix: str) -> str:
        return str(next(storage.local_path(prefix).glob("feature_spec_version=*/dt=*/mini_batch_id=*/*.parquet")))

    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    keys = "host_ip, window_label, window_end_ts"
    on = " AND ".join(f"f.{k} = p.{k}" for k in ("host_ip", "window_label", "window_end_ts"))
    features = f"""
        SELECT a.host_ip, a.window_label, a.window_end_ts, {", ".join("a." + f for f in FEATURES[:3])},
               {", ".join("c." + f for f in FEATURES[3:])}
        FROM read_parquet('{leaf(FG_A)}') a JOIN read_parquet('{leaf(FG_C)}') c USING ({keys})"""
    kind = "JOIN" if join_type == "inner" else "LEFT JOIN"
    return con.execute(
        f"""SELECT f.host_ip, f.window_label, f.window_end_ts, p.anomaly_score, p.model_version,
                   {", ".join("f." + c for c in FEATURES)}
            FROM ({features}) f {kind} read_parquet('{leaf(PREDICTIONS)}') p ON {on}
            ORDER BY f.host_ip, f.window_label, f.window_end_ts"""
    ).fetchall()


def read_join(storage: LocalStorage) -> list[tuple[Any, ...]]:
    [file] = storage.local_path(OUT).glob("feature_spec_version=*/dt=*/mini_batch_id=*/*.parquet")
    rows = pq.read_table(file).to_pylist()
    names = ("host_ip", "window_label", "window_end_ts", "anomaly_score", "model_version", *FEATURES)
    return [tuple(row[n] for n in names) for row in rows]


@pytest.mark.parametrize("join_type", ["inner", "left"])
def test_join_equals_duckdb_over_the_same_files(
    storage: LocalStorage, model_server: ModelServer, join_type: str
) -> None:
    write_bundles(storage)
    score_batch(storage, model_server.url)
    result = run_join(join_spec(join_type), BATCH, storage, "test")
    expected = duck(storage, join_type)
    assert read_join(storage) == expected and len(expected) == 50
    assert result.metrics["output_rows"] == 50 and result.metrics["join_type"] == join_type


def test_left_join_keeps_unscored_feature_rows(storage: LocalStorage, model_server: ModelServer) -> None:
    write_bundles(storage)
    score_batch(storage, model_server.url)  # 50 predictions: FG-A (60 hosts) inner join FG-C (50 hosts)
    spec = PredictionFeatureJoinSpec.from_payload(
        {
            "predictions_input": {"s3_prefix": PREDICTIONS},
            "feature_inputs": {"fg_a": {"s3_prefix": FG_A}},
            "join_type": "left",
            "output": {"s3_prefix": OUT},
        },
        "test",
    )
    result = run_join(spec, BATCH, storage, "test")
    assert result.metrics["predictions_rows"] == 50 and result.metrics["output_rows"] == 60
    [file] = storage.local_path(OUT).glob("feature_spec_version=*/dt=*/mini_batch_id=*/*.parquet")
    scores = pq.read_table(file).column("anomaly_score").to_pylist()
    assert sum(score is None for score in scores) == 10


def test_missing_predictions_fail_naming_the_prefix(storage: LocalStorage) -> None:
    write_bundles(storage)
    with pytest.raises(
        RuntimeJobError, match=r"no predictions for batch batch-0001 .* under s3://features/ndr-prod/v1/pred"
    ):
        run_join(join_spec("inner"), BATCH, storage, "test")


def test_a_project_without_the_spec_skips_the_step(
    params_table: str, storage: LocalStorage, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = batch_argv("pipeline_prediction_feature_join", params_table, storage)
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["skipped"] is True and "does not ask for the join" in summary["reason"]


def test_the_step_runs_from_its_published_spec(
    ddb: Any, params_table: str, storage: LocalStorage, model_server: ModelServer, capsys: pytest.CaptureFixture[str]
) -> None:
    write_bundles(storage)
    score_batch(storage, model_server.url)
    spec = {
        "predictions_input": {"s3_prefix": PREDICTIONS},
        "feature_inputs": {"fg_a": {"s3_prefix": FG_A}, "fg_c": {"s3_prefix": FG_C}},
        "output": {"s3_prefix": OUT},
    }
    put_item(
        ddb,
        params_table,
        {"project_name": PROJECT, "job_name": f"pipeline_prediction_feature_join#{VERSION}", "spec": spec},
    )
    argv = batch_argv("pipeline_prediction_feature_join", params_table, storage)
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["skipped"] is False and summary["output_rows"] == 50
    assert read_join(storage) == duck(storage, "inner")


@pytest.mark.parametrize("output_dataset", [None, "predictions"])
def test_a_batch_inference_skipped_for_want_of_a_model_is_skipped_by_the_join_too(
    storage: LocalStorage, output_dataset: str | None
) -> None:
    write_bundles(storage)
    output: dict[str, Any] = {"s3_prefix": PREDICTIONS}
    if output_dataset:
        output["dataset"] = output_dataset  # the sample specs' layout: metrics under .../predictions/predictions/
    payload = {
        "feature_inputs": {"fg_a": {"s3_prefix": FG_A}},
        "model": {"endpoint_name": "e", "model_name": "m"},
        "output": output,
    }
    inference = InferenceSpec.from_payload(payload, "test", PROJECT, VERSION)
    skipped = run_inference(
        inference, BATCH, storage, runtime_client("http://127.0.0.1:9"), "test", endpoint_exists=lambda name: False
    )
    assert skipped.metrics["status"] == "skipped"
    spec = PredictionFeatureJoinSpec.from_payload(
        {
            "predictions_input": {"s3_prefix": PREDICTIONS, "dataset": "predictions"},
            "feature_inputs": {"fg_a": {"s3_prefix": FG_A}},
            "output": {"s3_prefix": OUT},
        },
        "test",
    )
    result = run_join(spec, BATCH, storage, "test")
    assert result.output_uris == [] and result.metrics["status"] == "skipped"
    assert result.metrics["reason"].startswith("inference skipped this batch: skipped: no model in service")
