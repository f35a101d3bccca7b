"""Delta builder: read one mini-batch, DQ, enrichment, role expansion, operators, partitioned write."""

from __future__ import annotations

from typing import Any

from pyspark.sql import DataFrame, Observation
from pyspark.sql import functions as F

from runtime.batch import BatchContext
from runtime.errors import SpecError
from runtime.jobs.delta_builder.dq import apply_dq, dq_report
from runtime.jobs.delta_builder.enrichment import apply_enrichment, load_port_sets
from runtime.jobs.delta_builder.operators import apply_operators
from runtime.jobs.delta_builder.roles import ROLE_FIELDS, expand_roles
from runtime.jobs.delta_builder.spec import CANONICAL_FIELDS, OPTIONAL_CANONICAL_FIELDS, DeltaJobSpec
from runtime.jsonlog import log
from runtime.spark_io.batch_columns import BATCH_COLUMNS, BuildResult, with_batch_columns
from runtime.spark_io.readers import corrupt_input_as_error, read_canonical
from runtime.spark_io.writers import write_metrics, write_partitioned
from runtime.storage import Storage

DERIVED_COLUMNS: tuple[str, ...] = (
    "duration_s",
    "source_is_vdi",
    "destination_is_vdi",
    "source_port_set",
    "destination_port_set",
)
JOB = "delta_builder"


def field_plan(spec: DeltaJobSpec) -> tuple[dict[str, str], list[str]]:
    """canonical -> source mapping, and the raw pass-through fields (projection minus mapped ones)."""
    mapping = {name: spec.input.source_field(name) or name for name in CANONICAL_FIELDS}
    for name, source in spec.input.field_mapping.items():
        mapping.setdefault(name, source)
    mapped_sources = set(mapping.values())
    passthrough = [f for f in spec.input.schema_projection or () if f not in mapped_sources]
    generated = set(ROLE_FIELDS) | set(BATCH_COLUMNS) | set(DERIVED_COLUMNS)
    extras = [name for name in mapping if name not in CANONICAL_FIELDS + OPTIONAL_CANONICAL_FIELDS]
    clashes = sorted({f for f in passthrough if f in generated | set(mapping)} | (set(extras) & generated))
    if clashes:
        raise SpecError(f"{JOB}: input fields {clashes} clash with output column names; rename them")
    return mapping, passthrough


def build_delta_frame(
    spark: Any, spec: DeltaJobSpec, batch: BatchContext, storage: Storage
) -> tuple[DataFrame, Any, Observation]:
    """The output frame (lazy) plus the DQ stage and a row-count observation on the final rows."""
    prefix = batch.mini_batch_s3_prefix or spec.input.s3_prefix
    mapping, passthrough = field_plan(spec)
    raw = read_canonical(spark, storage, prefix, spec.input.format, spec.input.compression, mapping, passthrough)
    dq = apply_dq(raw, spec.dq, name=f"dq_{batch.mini_batch_id}")
    enriched = apply_enrichment(dq.frame, spec.enrichment, load_port_sets(storage, spec.enrichment.port_sets_location))
    timed = enriched.withColumn(
        "duration_s", (F.unix_micros("event_end") - F.unix_micros("event_start")) / F.lit(1_000_000.0)
    )
    expanded = with_batch_columns(expand_roles(timed, spec.roles), batch)
    final = apply_operators(expanded, spec.operators)
    rows_out = Observation(f"rows_out_{batch.mini_batch_id}")
    return final.observe(rows_out, F.count(F.lit(1)).alias("rows_out")), dq, rows_out


def run_delta_builder(spark: Any, spec: DeltaJobSpec, batch: BatchContext, storage: Storage) -> BuildResult:
    frame, dq, rows_out = build_delta_frame(spark, spec, batch, storage)
    with corrupt_input_as_error(storage, batch.mini_batch_s3_prefix or spec.input.s3_prefix):
        keys = write_partitioned(frame, spec.output, storage, JOB, batch.mini_batch_id)
    metrics: dict[str, Any] = {
        **batch.metrics_header(JOB),
        **dq_report(dq.observation.get, dq.enabled),
        "rows_out": int(rows_out.get.get("rows_out") or 0),
        "roles": [role.name for role in spec.roles],
    }
    metrics_uri = None
    if spec.dq.emit_metrics:
        metrics_uri = write_metrics(storage, spec.output.s3_prefix, JOB, batch.mini_batch_id, metrics)
    log(
        "delta_built",
        output=spec.output.s3_prefix,
        partition_keys=list(keys),
        metrics_uri=metrics_uri,
        **{k: metrics[k] for k in ("mini_batch_id", "rows_in", "rows_valid", "rows_out", "dropped")},
    )
    return BuildResult(spec.output.s3_prefix, keys, metrics, metrics_uri)
