"""Columns every builder stamps on its output rows, and the result every builder returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

# BATCH_COLUMNS is plain data in runtime.batch so that Spark-free code (inference) can read it.
from runtime.batch import BATCH_COLUMNS as BATCH_COLUMNS
from runtime.batch import BatchContext


@dataclass(frozen=True)
class BuildResult:
    output_uri: str
    partition_keys: tuple[str, ...]
    metrics: dict[str, Any]
    metrics_uri: str | None


def with_batch_columns(frame: DataFrame, batch: BatchContext) -> DataFrame:
    return frame.select(
        F.lit(batch.project_name).alias("project_name"),
        F.lit(batch.feature_spec_version).alias("feature_spec_version"),
        F.lit(batch.mini_batch_id).alias("mini_batch_id"),
        F.lit(batch.batch_start_ts_iso).cast("timestamp").alias("batch_start_ts"),
        F.lit(batch.batch_end_ts_iso).cast("timestamp").alias("batch_end_ts"),
        F.lit(batch.dt).alias("dt"),
        "*",
    )
