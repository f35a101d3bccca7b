"""Idempotent partitioned Parquet writes and the JSON metrics file next to the output."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from pyspark.sql import DataFrame

from runtime.config.output import OutputSpec
from runtime.errors import SpecError
from runtime.jsonlog import log
from runtime.storage import Storage, as_dir, join

METRICS_FOLDER = "_metrics"
# Spark's ExternalCatalogUtils.escapePathName: these characters of a partition value become %XX.
_ESCAPED = frozenset([chr(c) for c in range(0x01, 0x20)] + list("\"#%'*/:=?\\\x7f{[]^"))


def effective_partition_keys(output: OutputSpec) -> tuple[str, ...]:
    """The spec's keys, plus `mini_batch_id` last when idempotent: one batch = its own leaf folders."""
    keys = tuple(output.partition_keys)
    if output.idempotent and "mini_batch_id" not in keys:
        keys += ("mini_batch_id",)
    return keys


def escape_partition_value(value: str) -> str:
    """A partition value as Spark spells it in a folder name (`a=b` -> `a%3Db`)."""
    return "".join(f"%{ord(ch):02X}" if ch in _ESCAPED else ch for ch in value)


def batch_folders(storage: Storage, prefix: str, keys: Sequence[str], mini_batch_id: str) -> list[str]:
    """Every `.../mini_batch_id=<id>/` folder of the dataset, whatever the other partition values are.

    Walks the partition levels above `mini_batch_id` (one listing per folder), then checks for the
    batch's folder in each: the cost grows with partition folders, never with files.
    """
    folders = [as_dir(prefix)]
    for key in keys:
        if key == "mini_batch_id":
            name = f"mini_batch_id={escape_partition_value(mini_batch_id)}/"
            return [folder + name for folder in folders if storage.exists(folder + name)]
        folders = [
            sub
            for folder in folders
            for sub in storage.list_dirs(folder)
            if sub.rstrip("/").rsplit("/", 1)[-1].startswith(f"{key}=")
        ]
    return []


def _leaf_files(storage: Storage, folders: Sequence[str]) -> dict[str, frozenset[str]]:
    """Data files by their leaf folder (the folder holding them)."""
    leaves: dict[str, set[str]] = defaultdict(set)
    for folder in folders:
        for info in storage.list_objects(folder):
            leaves[info.uri.rsplit("/", 1)[0] + "/"].add(info.uri)
    return {leaf: frozenset(files) for leaf, files in leaves.items()}


def _batch_id(frame: DataFrame) -> str | None:
    """The batch a caller did not name: the frame's one `mini_batch_id` value (costs a Spark job)."""
    rows = frame.select("mini_batch_id").distinct().limit(2).collect()
    return str(rows[0][0]) if len(rows) == 1 and rows[0][0] is not None else None


def write_partitioned(
    frame: DataFrame, output: OutputSpec, storage: Storage, where: str, mini_batch_id: str | None = None
) -> tuple[str, ...]:
    """Write Parquet under `output.s3_prefix`; afterwards the dataset holds exactly this batch's new rows.

    Dynamic partition overwrite replaces the leaf folders the write produces. Leaves of the same
    `mini_batch_id` that it does not produce (a window now on another `dt`, a `window_label` that is
    gone, every leaf when the new output is empty) are found before the write and removed after it,
    so a failed write leaves the previous output in place. Pass `mini_batch_id` (the batch the frame
    is about); without it the writer asks the frame, and cannot clean up after an empty output.
    """
    keys = effective_partition_keys(output)
    missing = [key for key in keys if key not in frame.columns]
    if missing:
        raise SpecError(
            f"{where}: partition_keys {missing} are not output columns (available: {', '.join(frame.columns)})"
        )
    previous: dict[str, frozenset[str]] = {}
    if output.idempotent:
        batch = mini_batch_id if mini_batch_id is not None else _batch_id(frame)
        if batch is not None:
            previous = _leaf_files(storage, batch_folders(storage, output.s3_prefix, keys, batch))
    writer = frame.write.partitionBy(*keys).option("partitionOverwriteMode", "dynamic")
    writer = writer.mode("overwrite" if output.idempotent else "append")
    writer.parquet(storage.spark_uri(output.s3_prefix))
    # a leaf the write produced holds only new part files (their names carry the write's job id)
    stale = [leaf for leaf, files in previous.items() if files & {i.uri for i in storage.list_objects(leaf)}]
    for leaf in stale:
        storage.delete_prefix(leaf)
    if stale:
        log("stale_partitions_removed", output=output.s3_prefix, folders=stale)
    return keys


def write_metrics(
    storage: Storage, output_prefix: str, job: str, mini_batch_id: str, metrics: Mapping[str, Any]
) -> str:
    uri = join(output_prefix, METRICS_FOLDER, job, f"mini_batch_id={mini_batch_id}.json")
    storage.write_bytes(uri, json.dumps(metrics, indent=2, sort_keys=True, default=str).encode("utf-8"))
    return uri


def metric_row(values: Mapping[str, Any], names: Sequence[str]) -> dict[str, int]:
    """Observed counts by name, 0 for any the observation lacks (an empty input yields no row)."""
    return {name: int(values.get(name) or 0) for name in names}
