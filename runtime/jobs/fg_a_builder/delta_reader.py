"""Bounded reads of the delta dataset: only the `dt=` partitions a window's trailing horizons need."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from runtime.errors import RuntimeJobError
from runtime.orchestration.window import iso_z
from runtime.storage import Storage, as_dir

REQUIRED_COLUMNS: tuple[str, ...] = (
    "host_ip",
    "peer_ip",
    "peer_port",
    "role",
    "bytes_sent",
    "bytes_recv",
    "duration_s",
    "batch_start_ts",
    "host_is_vdi",
    "peer_port_set",
)
SCHEMA = (
    "host_ip string, peer_ip string, peer_port int, role string, bytes_sent long, bytes_recv long, "
    "duration_s double, batch_start_ts timestamp, host_is_vdi boolean, peer_port_set string"
)


def _value(folder: str) -> tuple[str, str]:
    name = folder.rstrip("/").rsplit("/", 1)[-1]
    key, _, value = name.partition("=")
    return key, value


def dt_folders(storage: Storage, prefix: str, feature_spec_version: str | None, first: date, last: date) -> list[str]:
    """The `dt=<YYYY-MM-DD>` folders with first <= dt <= last, found by walking partition folders.

    Levels above `dt` are descended (only `feature_spec_version=<this version>` for that key); a
    dataset not partitioned by `dt` is read whole (and filtered by time after).
    """
    level = [as_dir(prefix)]
    while level:
        found: list[str] = []
        children = [(folder, storage.list_dirs(folder)) for folder in level]
        for _, subs in children:
            for sub in subs:
                key, value = _value(sub)
                if key == "dt":
                    try:
                        day = date.fromisoformat(value)
                    except ValueError:
                        continue
                    if first <= day <= last:
                        found.append(sub)
        if found or any(_value(sub)[0] == "dt" for _, subs in children for sub in subs):
            return sorted(found)
        level = [
            sub
            for _, subs in children
            for sub in subs
            if _value(sub)[1]
            and not sub.rstrip("/").rsplit("/", 1)[-1].startswith("_")
            and (_value(sub)[0] != "feature_spec_version" or _value(sub)[1] == feature_spec_version)
        ]
    return []


def read_delta(
    spark: Any,
    storage: Storage,
    prefix: str,
    feature_spec_version: str | None,
    earliest: datetime,
    latest: datetime,
    extra_columns: tuple[str, ...] = (),
) -> tuple[DataFrame, list[str]]:
    """Delta rows of batches with earliest < batch_start_ts <= latest, and the folders read.

    `extra_columns` (e.g. pass-through fields a rare threshold names) are kept when the delta has them.
    """
    folders = dt_folders(storage, prefix, feature_spec_version, earliest.date(), latest.date())
    if not folders:
        extra = [c for c in dict.fromkeys(extra_columns) if c not in REQUIRED_COLUMNS]
        return spark.createDataFrame([], SCHEMA + "".join(f", {c} string" for c in extra)), []
    uris = [storage.spark_uri(folder) for folder in folders]
    # partition values stay strings (a batch id like 0123 is not a number); the flag is read eagerly
    key = "spark.sql.sources.partitionColumnTypeInference.enabled"
    previous = spark.conf.get(key)
    spark.conf.set(key, "false")
    try:
        frame = spark.read.option("basePath", storage.spark_uri(as_dir(prefix))).parquet(*uris)
    finally:
        spark.conf.set(key, previous)
    missing = [name for name in REQUIRED_COLUMNS if name not in frame.columns]
    if missing:
        raise RuntimeJobError(f"delta dataset {prefix} lacks the columns {missing} that FG-A reads")
    if feature_spec_version and "feature_spec_version" in frame.columns:
        frame = frame.filter(F.col("feature_spec_version") == feature_spec_version)
    start = F.col("batch_start_ts").cast("timestamp")
    frame = frame.withColumn("batch_start_ts", start).filter(
        (start > F.lit(iso_z(earliest)).cast("timestamp")) & (start <= F.lit(iso_z(latest)).cast("timestamp"))
    )
    wanted = ("peer_is_internal", *extra_columns)
    columns = list(REQUIRED_COLUMNS) + [
        c for c in dict.fromkeys(wanted) if c in frame.columns and c not in REQUIRED_COLUMNS
    ]
    return frame.select(*columns), folders
