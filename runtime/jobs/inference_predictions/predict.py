"""Score one batch: join the feature bundles, pack payloads, invoke the endpoint in parallel, write outputs.

Reading and joining use pyarrow on the driver, not Spark: one 15-minute batch is one row per active host
(thousands to tens of thousands), which fits in the driver's memory many times over, and the invocations
run from the driver anyway (a thread pool of `max_workers` boto3 calls) — Spark would add a JVM start and
two conversions and parallelise nothing that matters here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from runtime.batch import BatchContext
from runtime.config.output import OutputSpec
from runtime.errors import RuntimeJobError
from runtime.inference import features as feature_io
from runtime.inference import invoke, payloads, tables
from runtime.jobs.inference_predictions.service import no_model_in_service
from runtime.jobs.inference_predictions.spec import InferenceSpec
from runtime.modelops.attributes import ModelAttributes, read_attributes
from runtime.modelops.drift import feature_psi
from runtime.storage import Storage, join

if TYPE_CHECKING:
    import pyarrow as pa

JOB_NAME = "inference_predictions"
METRICS_FOLDER = "_metrics"


@dataclass(frozen=True)
class InferenceResult:
    output_uris: list[str]
    join_output_uris: list[str]
    metrics_uri: str
    metrics: dict[str, Any]


def metrics_uri(output: OutputSpec, job: str, mini_batch_id: str) -> str:
    return join(output.s3_prefix, METRICS_FOLDER, job, f"mini_batch_id={mini_batch_id}.json")


def choose_feature_columns(
    spec: InferenceSpec, attributes: ModelAttributes | None, joined: pa.Table, where: str
) -> list[str]:
    """payload.feature_columns, else the model's feature list (attributes), else every numeric feature."""
    if spec.feature_columns is not None:
        if attributes is not None and tuple(spec.feature_columns) != attributes.feature_names:
            raise RuntimeJobError(
                f"{where}: payload.feature_columns {list(spec.feature_columns)} differ from model "
                f"{attributes.model_version}'s features {list(attributes.feature_names)} (same names, same order)"
            )
        return list(spec.feature_columns)
    if attributes is not None:
        return list(attributes.feature_names)
    return feature_io.numeric_feature_columns(joined, spec.join_keys)


def batch_drift(attributes: ModelAttributes | None, columns: list[str], rows: list[list[Any]]) -> dict[str, Any]:
    """Report-only drift of this batch: PSI per feature against the model's training histograms
    (`feature_distributions` of the attributes document), and the largest; empty without histograms."""
    distributions = attributes.document.get("feature_distributions") if attributes else None
    if not isinstance(distributions, dict) or not distributions or not rows:
        return {}
    matrix = np.array([[np.nan if v is None else float(v) for v in row] for row in rows], dtype=np.float64)
    found = feature_psi(distributions, {name: matrix[:, i] for i, name in enumerate(columns)})
    return {"feature_psi": found, "max_psi": max(found.values(), default=None)}


def run_inference(
    spec: InferenceSpec,
    batch: BatchContext,
    storage: Storage,
    client: Any,
    where: str,
    seed: int | None = None,
    endpoint_exists: Callable[[str], bool] | None = None,
) -> InferenceResult:
    """`endpoint_exists` (DescribeEndpoint) lets a project with no model in service yet skip (see `service`);
    None: always score."""
    import pyarrow as pa

    started = time.perf_counter()
    report_uri = metrics_uri(spec.output, JOB_NAME, batch.mini_batch_id)
    if endpoint_exists is not None and (reason := no_model_in_service(storage, spec.model, endpoint_exists)):
        skipped = {
            **batch.metrics_header(JOB_NAME),
            "status": "skipped",
            "reason": reason,
            "endpoint_name": spec.model.endpoint_name,
            "output_rows": 0,
        }
        tables_write_metrics(storage, report_uri, skipped)
        return InferenceResult([], [], report_uri, skipped)
    joined = feature_io.read_feature_bundles(storage, spec.feature_inputs, spec.join_keys, batch, where)
    attributes = (
        read_attributes(storage, spec.model.attributes_s3_prefix, spec.model.model_version)
        if spec.model.attributes_s3_prefix
        else None
    )
    columns = choose_feature_columns(spec, attributes, joined.table, where)
    rows = feature_io.feature_rows(joined.table, columns, where)
    packed = payloads.pack(
        rows, spec.model.content_type, spec.model.max_records_per_payload, spec.model.max_payload_bytes
    )
    settings = invoke.InvokeSettings(
        endpoint_name=spec.model.endpoint_name,
        content_type=spec.model.content_type,
        accept=spec.model.accept,
        max_workers=spec.model.max_workers,
        max_retries=spec.model.max_retries,
        backoff_seconds=spec.model.backoff_seconds,
        seed=seed,
    )
    drift = batch_drift(attributes, columns, rows)
    invoke_started = time.perf_counter()
    results = invoke.invoke_all(client, packed, settings)
    invoke_seconds = time.perf_counter() - invoke_started
    metrics: dict[str, Any] = {
        **batch.metrics_header(JOB_NAME),
        "endpoint_name": spec.model.endpoint_name,
        "content_type": spec.model.content_type,
        "accept": spec.model.accept,
        "max_records_per_payload": spec.model.max_records_per_payload,
        "max_payload_bytes": spec.model.max_payload_bytes,
        "max_workers": spec.model.max_workers,
        "feature_inputs": joined.used,
        "skipped_inputs": joined.skipped,
        "feature_columns": columns,
        "output_dataset": spec.output_dataset,
        **invoke.invoke_metrics(results),
        "invoke_seconds": round(invoke_seconds, 6),
        **drift,
    }
    failed = [r for r in results if r.error is not None]
    if failed:
        metrics["status"] = "failed"
        tables_write_metrics(storage, report_uri, metrics)
        raise RuntimeJobError(
            f"{where}: {len(failed)} of {len(results)} payloads failed after retries "
            f"({metrics['failed_records']} records; first: payload {failed[0].payload.index}: {failed[0].error}); "
            f"report at {report_uri}"
        )
    scores: list[float] = []
    versions: list[str | None] = []
    fallback_version = spec.model.model_version or (attributes.model_version if attributes else None)
    for result in results:
        assert result.scores is not None
        scores += result.scores
        versions += [result.model_version or fallback_version] * result.payload.records
    threshold = attributes.score_threshold if attributes else None
    labels = [None if threshold is None else score >= threshold for score in scores]
    n = joined.table.num_rows
    prediction_columns = {
        "model_name": pa.array([spec.model.model_name] * n, pa.string()),
        "model_version": pa.array(versions, pa.string()),
        spec.score_column: pa.array(scores, pa.float64()),
        spec.label_column: pa.array(labels, pa.bool_()),
    }
    identity = {
        "project_name": pa.array([batch.project_name] * n, pa.string()),
        "feature_spec_version": pa.array([batch.feature_spec_version] * n, pa.string()),
        "mini_batch_id": pa.array([batch.mini_batch_id] * n, pa.string()),
        "dt": pa.array([batch.dt] * n, pa.string()),
    }
    keys = {key: joined.table.column(key) for key in spec.join_keys}
    predictions = pa.table({**keys, **identity, **prediction_columns})
    written = tables.write_partitioned(storage, predictions, spec.output, JOB_NAME, where, unique=batch.mini_batch_id)
    join_written: list[tables.WrittenPartition] = []
    if spec.join_output is not None:
        join_written = tables.write_partitioned(
            storage,
            prediction_feature_join(joined.table, predictions),
            spec.join_output,
            JOB_NAME,
            where,
            unique=batch.mini_batch_id,
        )
    metrics.update(
        status="ok",
        output_rows=predictions.num_rows,
        score_threshold=threshold,
        labelled=threshold is not None,
        model_versions=sorted({v for v in versions if v is not None}),
        join_output_rows=sum(p.rows for p in join_written),
        seconds=round(time.perf_counter() - started, 6),
        records_per_second=round(len(rows) / invoke_seconds, 3) if invoke_seconds > 0 and rows else None,
    )
    tables_write_metrics(storage, report_uri, metrics)
    return InferenceResult([p.uri for p in written], [p.uri for p in join_written], report_uri, metrics)


def prediction_feature_join(features: pa.Table, predictions: pa.Table) -> pa.Table:
    """Predictions (with identity and model columns) plus every feature column, row for row.

    Both tables are in the same order (predictions are built from the joined features), so this is a
    column concatenation; the identity columns come from the predictions.
    """
    out = predictions
    for name in features.column_names:
        if name not in out.column_names:
            out = out.append_column(name, features.column(name))
    return out


def tables_write_metrics(storage: Storage, uri: str, metrics: dict[str, Any]) -> None:
    import json

    storage.write_bytes(uri, json.dumps(metrics, indent=2, sort_keys=True, default=str).encode("utf-8"))
