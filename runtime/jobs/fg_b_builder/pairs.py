"""FG-B's pair baseline (`pair_counts`): how often each (source, destination, port) pair was seen per horizon.

The input is the pair counts builder's output (one row per pair and batch). For horizon h with safety gap g
the history is every row with R - g - h <= batch_start_ts < R - g, the same interval as the FG-A history.
FG-C reads the result to tell a batch's new pairs, peers and ports from known ones.
"""

from __future__ import annotations

from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from runtime.errors import RuntimeJobError
from runtime.spark_io.partitions import day_range, find_partitions, read_partitions
from runtime.storage import Storage

PAIR_KEYS: tuple[str, ...] = ("source_ip", "destination_ip", "destination_port")
PAIR_SCHEMA = (
    "source_ip string, destination_ip string, destination_port int, baseline_horizon string, event_count long, "
    "batches_seen long, days_seen long, first_seen timestamp, last_seen timestamp"
)
NEEDED = (*PAIR_KEYS, "batch_start_ts", "event_count", "first_seen", "last_seen", "mini_batch_id")


def read_pair_history(
    spark: Any, storage: Storage, prefix: str, feature_spec_version: str, first_day: str, last_day: str
) -> tuple[DataFrame | None, int]:
    """Pair count rows of the `dt` folders first_day..last_day (this feature_spec_version's, if partitioned so)."""
    partitions = find_partitions(storage, prefix, day_range(feature_spec_version, first_day, last_day), stop_at="dt")
    frame = read_partitions(spark, storage, prefix, partitions)
    if frame is None:
        return None, 0
    missing = [c for c in NEEDED if c not in frame.columns]
    if missing:
        raise RuntimeJobError(f"pair counts under {prefix} lack the columns {missing}")
    if "feature_spec_version" in frame.columns:
        frame = frame.where(F.col("feature_spec_version") == feature_spec_version)
    return frame, len(partitions)


def pair_baseline(frame: DataFrame | None, windows: Any, spark: Any) -> DataFrame:
    """One row per pair and horizon: events, distinct batches and days, first/last event time."""
    if frame is None:
        return spark.createDataFrame([], PAIR_SCHEMA)
    start = F.col("batch_start_ts").cast("timestamp")
    tags = F.array(*[F.when(w.contains(start), F.lit(w.name)) for w in windows])
    tagged = frame.select(
        F.col("source_ip").cast("string").alias("source_ip"),
        F.col("destination_ip").cast("string").alias("destination_ip"),
        F.col("destination_port").cast("int").alias("destination_port"),
        F.col("mini_batch_id").cast("string").alias("mini_batch_id"),
        F.to_date(start).alias("_day"),
        F.col("event_count").cast("long").alias("event_count"),
        F.col("first_seen").cast("timestamp").alias("first_seen"),
        F.col("last_seen").cast("timestamp").alias("last_seen"),
        F.explode(F.filter(tags, lambda h: h.isNotNull())).alias("baseline_horizon"),
    )
    return tagged.groupBy(*PAIR_KEYS, "baseline_horizon").agg(
        F.sum("event_count").cast("long").alias("event_count"),
        F.countDistinct("mini_batch_id").cast("long").alias("batches_seen"),
        F.countDistinct("_day").cast("long").alias("days_seen"),
        F.min("first_seen").alias("first_seen"),
        F.max("last_seen").alias("last_seen"),
    )
