"""Reading another job's partitioned Parquet output by partition directory, with bounded listings.

A dataset lives at `<prefix>/<k1>=<v1>/<k2>=<v2>/.../part-*.parquet`. `find_partitions` walks the
`key=value` folders from the prefix, descending only into folders whose value `accept(key, value)` admits
(unknown keys are always admitted), so a reader of two days lists two `dt=` folders, not thirty.
`read_partitions` reads the chosen folders as one DataFrame, with the partition values as *string*
columns (type inference off: `mini_batch_id=0012` stays `"0012"`, `dt` stays `YYYY-MM-DD`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from runtime.batch import BatchContext
from runtime.storage import Storage, as_dir

Accept = Callable[[str, str], bool]
_INFERENCE = "spark.sql.sources.partitionColumnTypeInference.enabled"


@dataclass(frozen=True)
class Partition:
    uri: str
    values: dict[str, str]


def _split(folder_uri: str) -> tuple[str, str] | None:
    name = folder_uri.rstrip("/").rsplit("/", 1)[-1]
    key, sep, value = name.partition("=")
    return (key, value) if sep and key and not key.startswith(("_", ".")) else None


def find_partitions(storage: Storage, prefix: str, accept: Accept, stop_at: str | None = None) -> list[Partition]:
    """The deepest admitted `key=value` folders below `prefix` (or the `stop_at` level), sorted by URI."""
    found: list[Partition] = []

    def walk(uri: str, values: dict[str, str]) -> None:
        children = [(child, _split(child)) for child in storage.list_dirs(uri)]
        partitions = [(child, kv) for child, kv in children if kv is not None]
        if not partitions:
            if values:
                found.append(Partition(as_dir(uri), values))
            return
        for child, (key, value) in partitions:  # type: ignore[misc]
            if not accept(key, value):
                continue
            below = {**values, key: value}
            if key == stop_at:
                found.append(Partition(as_dir(child), below))
            else:
                walk(child, below)

    walk(as_dir(prefix), {})
    return sorted(found, key=lambda p: p.uri)


def spark_path(storage: Storage, uri: str) -> str:
    """Spark's path for `uri`. Spark does not decode `file:` percent-escapes, so a local `dt%3D...` is decoded."""
    path = storage.spark_uri(uri)
    return unquote(path) if path.startswith("file:") else path


def read_partitions(spark: Any, storage: Storage, prefix: str, partitions: Sequence[Partition]) -> DataFrame | None:
    """The rows of the given partition folders (None when there are none); partition columns as strings."""
    if not partitions:
        return None
    previous = spark.conf.get(_INFERENCE, "true")
    spark.conf.set(_INFERENCE, "false")
    try:
        base = spark_path(storage, as_dir(prefix))
        return spark.read.option("basePath", base).parquet(*[spark_path(storage, p.uri) for p in partitions])
    finally:
        spark.conf.set(_INFERENCE, previous)


def day_range(feature_spec_version: str, first_day: str, last_day: str) -> Accept:
    """The `dt` folders first_day..last_day (`YYYY-MM-DD`, inclusive), of this feature_spec_version if the
    dataset is partitioned by it."""

    def accept(key: str, value: str) -> bool:
        if key == "feature_spec_version":
            return value == feature_spec_version
        if key == "dt":
            return first_day <= value <= last_day
        return True

    return accept


def read_batch_partitions(spark: Any, storage: Storage, prefix: str, batch: BatchContext) -> DataFrame | None:
    """The batch's rows of a per-batch dataset (None when it has none): only the batch's `feature_spec_version`,
    `dt` and `mini_batch_id` folders are listed, and a `mini_batch_id` column is filtered too (a dataset
    partitioned by day only keeps the batch id as a column)."""
    wanted = {"feature_spec_version": batch.feature_spec_version, "dt": batch.dt, "mini_batch_id": batch.mini_batch_id}

    def accept(key: str, value: str) -> bool:
        return key not in wanted or value == wanted[key]

    frame = read_partitions(spark, storage, prefix, find_partitions(storage, prefix, accept))
    if frame is not None and "mini_batch_id" in frame.columns:
        frame = frame.where(F.col("mini_batch_id") == batch.mini_batch_id)
    return frame
