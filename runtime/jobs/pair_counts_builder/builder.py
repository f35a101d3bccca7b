"""Pair Counts builder: events per (source_ip, destination_ip, destination_port[, segments]) per batch."""

from __future__ import annotations

from typing import Any

from pyspark.sql import DataFrame, Observation
from pyspark.sql import functions as F

from runtime.batch import BatchContext
from runtime.errors import RuntimeJobError
from runtime.features.segments import Segment, load_segments
from runtime.jobs.pair_counts_builder.spec import PairCountsJobSpec
from runtime.jsonlog import log
from runtime.spark_io.batch_columns import BuildResult, with_batch_columns
from runtime.spark_io.readers import corrupt_input_as_error, read_canonical
from runtime.spark_io.writers import metric_row, write_metrics, write_partitioned
from runtime.sparkexpr import first_cidr_match
from runtime.storage import Storage, join

JOB = "pair_counts_builder"
PAIR_KEYS: tuple[str, ...] = ("source_ip", "destination_ip", "destination_port")
OBSERVED_COUNTS: tuple[str, ...] = ("rows_in", "null_ips", "null_destination_port")


def input_prefix(spec: PairCountsJobSpec, batch: BatchContext) -> str:
    """`batch_folder`: `<s3_prefix>/<mini_batch_id>/`; when the orchestration passes the batch prefix and it
    is that batch's folder below `s3_prefix` (the ingestion layout puts YYYY/MM/dd/ in between), that one."""
    if spec.traffic_input.layout == "batch_folder":
        base = spec.traffic_input.s3_prefix.rstrip("/") + "/"
        given = batch.mini_batch_s3_prefix
        if given and given.startswith(base) and given.rstrip("/").endswith("/" + batch.mini_batch_id):
            return given.rstrip("/") + "/"
        return join(spec.traffic_input.s3_prefix, batch.mini_batch_id) + "/"
    if not batch.mini_batch_s3_prefix:
        raise RuntimeJobError("traffic_input.layout mini_batch_prefix needs --mini-batch-s3-prefix")
    return batch.mini_batch_s3_prefix


def count_pairs(frame: DataFrame, spec: PairCountsJobSpec, segments: tuple[Segment, ...]) -> DataFrame:
    keys = list(PAIR_KEYS)
    if spec.segment_mapping is not None:
        named = [(s.name, s.cidrs) for s in segments]
        default = spec.segment_mapping.default
        frame = frame.withColumn("source_segment", first_cidr_match(F.col("source_ip"), named, default))
        frame = frame.withColumn("destination_segment", first_cidr_match(F.col("destination_ip"), named, default))
        keys += ["source_segment", "destination_segment"]
    return frame.groupBy(*keys).agg(
        F.count(F.lit(1)).alias("event_count"),
        F.min("event_start").alias("first_seen"),
        F.max("event_end").alias("last_seen"),
    )


def run_pair_counts_builder(spark: Any, spec: PairCountsJobSpec, batch: BatchContext, storage: Storage) -> BuildResult:
    prefix = input_prefix(spec, batch)
    mapping = dict(spec.traffic_input.field_mapping)
    raw = read_canonical(spark, storage, prefix, spec.traffic_input.format, spec.traffic_input.compression, mapping)
    null_ip = F.col("source_ip").isNull() | F.col("destination_ip").isNull()
    null_port = F.col("destination_port").isNull()
    observation = Observation(f"pairs_{batch.mini_batch_id}")
    observed = raw.observe(
        observation,
        F.count(F.lit(1)).alias("rows_in"),
        F.sum(null_ip.cast("long")).alias("null_ips"),
        F.sum(null_port.cast("long")).alias("null_destination_port"),
    )
    kept = observed
    if spec.filters.require_nonnull_ips:
        kept = kept.filter(~null_ip)
    if spec.filters.require_destination_port:
        kept = kept.filter(~null_port)
    segments = load_segments(storage, spec.segment_mapping) if spec.segment_mapping else ()
    counts = with_batch_columns(count_pairs(kept, spec, segments), batch)
    with corrupt_input_as_error(storage, prefix):
        keys = write_partitioned(counts, spec.output, storage, JOB, batch.mini_batch_id)
    # an empty input never runs the observed stage: the counts are then zeros, not missing keys
    values = metric_row(observation.get, OBSERVED_COUNTS)
    metrics: dict[str, Any] = {
        **batch.metrics_header(JOB),
        "filters": {
            "require_nonnull_ips": spec.filters.require_nonnull_ips,
            "require_destination_port": spec.filters.require_destination_port,
        },
        **values,
    }
    metrics_uri = write_metrics(storage, spec.output.s3_prefix, JOB, batch.mini_batch_id, metrics)
    log("pair_counts_built", output=spec.output.s3_prefix, partition_keys=list(keys), counts=values)
    return BuildResult(spec.output.s3_prefix, keys, metrics, metrics_uri)
