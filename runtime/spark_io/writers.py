"""Idempotent partitioned Parquet writes and the JSON metrics file next to the output."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pyspark.sql import DataFrame

from runtime.config.output import OutputSpec
from runtime.errors import SpecError
from runtime.storage import Storage, join

METRICS_FOLDER = "_metrics"


def effective_partition_keys(output: OutputSpec) -> tuple[str, ...]:
    """The spec's keys, plus `mini_batch_id` last when idempotent: one batch = its own leaf folders."""
    keys = tuple(output.partition_keys)
    if output.idempotent and "mini_batch_id" not in keys:
        keys += ("mini_batch_id",)
    return keys


def write_partitioned(frame: DataFrame, output: OutputSpec, storage: Storage, where: str) -> tuple[str, ...]:
    """Write Parquet under `output.s3_prefix`; a re-run replaces exactly this batch's partitions."""
    keys = effective_partition_keys(output)
    missing = [key for key in keys if key not in frame.columns]
    if missing:
        raise SpecError(
            f"{where}: partition_keys {missing} are not output columns (available: {', '.join(frame.columns)})"
        )
    writer = frame.write.partitionBy(*keys).option("partitionOverwriteMode", "dynamic")
    writer = writer.mode("overwrite" if output.idempotent else "append")
    writer.parquet(storage.spark_uri(output.s3_prefix))
    return keys


def write_metrics(
    storage: Storage, output_prefix: str, job: str, mini_batch_id: str, metrics: Mapping[str, Any]
) -> str:
    uri = join(output_prefix, METRICS_FOLDER, job, f"mini_batch_id={mini_batch_id}.json")
    storage.write_bytes(uri, json.dumps(metrics, indent=2, sort_keys=True, default=str).encode("utf-8"))
    return uri


