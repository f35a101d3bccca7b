"""Predictions of one batch joined with the feature bundles that were scored (pyarrow on the driver)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from runtime.batch import BatchContext
from runtime.errors import RuntimeJobError
from runtime.inference import features as feature_io
from runtime.inference import tables
from runtime.jobs.pipeline_prediction_feature_join.spec import PredictionFeatureJoinSpec
from runtime.storage import Storage, join

JOB_NAME = "pipeline_prediction_feature_join"
BATCH_IDENTITY = ("project_name", "feature_spec_version", "mini_batch_id", "dt")


@dataclass(frozen=True)
class JoinResult:
    output_uris: list[str]
    metrics_uri: str
    metrics: dict[str, Any]


def inference_skipped(storage: Storage, spec: PredictionFeatureJoinSpec, batch: BatchContext) -> str | None:
    """The reason inference recorded for skipping this batch (no model in service yet), else None. Inference
    writes its metrics under its output prefix: `predictions_input.s3_prefix`, with the dataset folder when
    its output names one."""
    name = f"mini_batch_id={batch.mini_batch_id}.json"
    prefixes = dict.fromkeys(p for p in (spec.predictions_s3_prefix, spec.inference_output_prefix) if p)
    for prefix in prefixes:
        uri = join(prefix, "_metrics", "inference_predictions", name)
        if not storage.exists(uri):
            continue
        try:
            metrics = json.loads(storage.read_bytes(uri))
        except json.JSONDecodeError:
            return None
        if isinstance(metrics, dict) and metrics.get("status") == "skipped":
            return f"inference skipped this batch: {metrics.get('reason', '')}"
    return None


def run_join(spec: PredictionFeatureJoinSpec, batch: BatchContext, storage: Storage, where: str) -> JoinResult:
    import pyarrow as pa

    predictions = tables.read_batch(storage, spec.predictions_s3_prefix, batch)
    if predictions is None and (skipped := inference_skipped(storage, spec, batch)) is not None:
        return JoinResult([], "", {"status": "skipped", "reason": skipped})
    if predictions is None:
        raise RuntimeJobError(
            f"{where}: no predictions for batch {batch.mini_batch_id} (dt={batch.dt}) under "
            f"{spec.predictions_s3_prefix} (run inference_predictions first)"
        )
    absent = [key for key in spec.join_keys if key not in predictions.column_names]
    if absent:
        raise RuntimeJobError(f"{where}: the predictions lack the join keys {absent}")
    features = feature_io.read_feature_bundles(storage, spec.feature_inputs, spec.join_keys, batch, where)
    prediction_columns = [c for c in predictions.column_names if c not in BATCH_IDENTITY]
    feature_columns = [
        c for c in features.table.column_names if c not in prediction_columns and c not in BATCH_IDENTITY
    ]
    left, right = features.table.select([*spec.join_keys, *feature_columns]), predictions.select(prediction_columns)
    if spec.join_type == "inner":
        joined = right.join(left, keys=list(spec.join_keys), join_type="inner")
    else:
        joined = left.join(right, keys=list(spec.join_keys), join_type="left outer")
    joined = joined.sort_by([(key, "ascending") for key in spec.join_keys])
    n = joined.num_rows
    identity = {
        "project_name": batch.project_name,
        "feature_spec_version": batch.feature_spec_version,
        "mini_batch_id": batch.mini_batch_id,
        "dt": batch.dt,
    }
    columns = {key: joined.column(key) for key in spec.join_keys}
    columns.update({name: pa.array([value] * n, pa.string()) for name, value in identity.items()})
    columns.update({name: joined.column(name) for name in prediction_columns if name not in spec.join_keys})
    columns.update({name: joined.column(name) for name in feature_columns})
    out = pa.table(columns)
    written = tables.write_partitioned(storage, out, spec.output, JOB_NAME, where, unique=batch.mini_batch_id)
    metrics = {
        **batch.metrics_header(JOB_NAME),
        "join_type": spec.join_type,
        "predictions_rows": predictions.num_rows,
        "feature_inputs": features.used,
        "skipped_inputs": features.skipped,
        "output_rows": n,
        "output_dataset": spec.output_dataset,
    }
    uri = join(spec.output.s3_prefix, "_metrics", JOB_NAME, f"mini_batch_id={batch.mini_batch_id}.json")
    storage.write_bytes(uri, json.dumps(metrics, indent=2, sort_keys=True, default=str).encode("utf-8"))
    return JoinResult([p.uri for p in written], uri, metrics)
