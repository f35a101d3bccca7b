"""FG-A's 30-day memory: rare values per host (`lookback30d`) and new host-peer-port pairs (`pair_context_input`).

Both look at the 15-minute windows of the 30 days before this one: W - 30d <= window_start_ts < W. The
current window is never part of its own history, so a rerun sees what the first run saw.

- `lookback30d.s3_prefix` holds one row per (host_ip, dimension, value) and window: FG-A writes this
  window's rows and reads the earlier ones. `prior_windows` of a current (host, dimension, value) is the
  number of distinct earlier windows that hold it; the value is rare when `prior_windows <= threshold`
  and new when it is 0.
- `pair_context_input.s3_prefix` is an earlier pair context (what `pair_context_output` writes): a
  current (host_ip, peer_ip, peer_port) gets `pair_windows_30d` (distinct earlier windows holding it) and
  `pair_sessions_30d` (their sessions); it is new when `pair_windows_30d = 0`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from runtime.errors import RuntimeJobError
from runtime.jobs.fg_a_builder.spec import LOOKBACK_DAYS, RareDimension
from runtime.orchestration.window import iso_z
from runtime.spark_io.partitions import find_partitions, read_partitions
from runtime.storage import Storage

PAIR_KEYS: tuple[str, ...] = ("host_ip", "peer_ip", "peer_port")
LOOKBACK_SCHEMA = "host_ip string, dimension string, value string, window_start_ts timestamp, sessions_cnt long"
PAIR_SCHEMA = "host_ip string, peer_ip string, peer_port int, window_start_ts timestamp, sessions_cnt long"


def rare_columns(dimensions: Sequence[RareDimension]) -> list[str]:
    """FG-A columns of the lookback, in output order (15-minute window only)."""
    return [
        f"{kind}_{d.name}_{suffix}_w_15m"
        for d in dimensions
        for kind, suffix in (("rare", "cnt"), ("rare", "sessions_cnt"), ("new", "cnt"))
    ]


PAIR_COLUMNS: tuple[str, ...] = ("new_pairs_cnt_w_15m", "new_pair_sessions_cnt_w_15m")


def history_start(window_start: datetime) -> datetime:
    return window_start - timedelta(days=LOOKBACK_DAYS)


def read_history(
    spark: Any,
    storage: Storage,
    prefix: str,
    version: str | None,
    window_start: datetime,
    schema: str,
    this_batch: str,
) -> tuple[DataFrame, int]:
    """Rows of the 30 days before W (bounded `dt` listing), and how many partitions were read.

    This batch's own folders are never listed: they are this window's rows, which the same run replaces.
    """
    first, last = f"{history_start(window_start):%Y-%m-%d}", f"{window_start:%Y-%m-%d}"

    def accept(key: str, value: str) -> bool:
        if key == "feature_spec_version":
            return version is None or value == version
        if key == "dt":
            return first <= value <= last
        if key == "mini_batch_id":
            return value != this_batch
        return True

    partitions = find_partitions(storage, prefix, accept)
    frame = read_partitions(spark, storage, prefix, partitions)
    if frame is None:
        return spark.createDataFrame([], schema), 0
    names = [part.split()[0] for part in schema.split(", ")]
    missing = [n for n in names if n not in frame.columns]
    if missing:
        raise RuntimeJobError(f"history dataset {prefix} lacks the columns {missing}")
    if version and "feature_spec_version" in frame.columns:
        frame = frame.where(F.col("feature_spec_version") == version)
    start = F.col("window_start_ts").cast("timestamp")
    frame = frame.where(
        (start >= F.lit(iso_z(history_start(window_start))).cast("timestamp"))
        & (start < F.lit(iso_z(window_start)).cast("timestamp"))
    )
    typed = [F.col(p.split()[0]).cast(p.split()[1]).alias(p.split()[0]) for p in schema.split(", ")]
    return frame.select(*typed), len(partitions)


def lookback_rows(current: DataFrame, dimensions: Sequence[RareDimension]) -> DataFrame:
    """This window's (host_ip, dimension, value, sessions_cnt); null values are not kept."""
    missing = [d.column for d in dimensions if d.column not in current.columns]
    if missing:
        raise RuntimeJobError(
            f"lookback30d.rare_thresholds name delta columns that do not exist: {missing} "
            f"(delta columns: {sorted(current.columns)})"
        )
    parts = [
        current.select(
            "host_ip", F.lit(d.name).alias("dimension"), F.col(d.column).cast("string").alias("value")
        ).where(F.col("value").isNotNull())
        for d in dimensions
    ]
    union = parts[0]
    for part in parts[1:]:
        union = union.unionByName(part)
    return union.groupBy("host_ip", "dimension", "value").agg(F.count(F.lit(1)).cast("long").alias("sessions_cnt"))


def rare_metrics(window_rows: DataFrame, history: DataFrame, dimensions: Sequence[RareDimension]) -> DataFrame:
    """Per host: rare/new value counts and sessions to rare values, for each dimension."""
    prior = history.groupBy("host_ip", "dimension", "value").agg(
        F.countDistinct("window_start_ts").alias("prior_windows")
    )
    joined = window_rows.join(prior, ["host_ip", "dimension", "value"], "left").withColumn(
        "prior_windows", F.coalesce(F.col("prior_windows"), F.lit(0))
    )
    aggregates: list[Column] = []
    for d in dimensions:
        mine = F.col("dimension") == d.name
        rare = mine & (F.col("prior_windows") <= F.lit(d.threshold))
        aggregates += [
            F.count(F.when(rare, 1)).cast("long").alias(f"rare_{d.name}_cnt_w_15m"),
            F.coalesce(F.sum(F.when(rare, F.col("sessions_cnt"))), F.lit(0))
            .cast("long")
            .alias(f"rare_{d.name}_sessions_cnt_w_15m"),
            F.count(F.when(mine & (F.col("prior_windows") == 0), 1)).cast("long").alias(f"new_{d.name}_cnt_w_15m"),
        ]
    return joined.groupBy("host_ip").agg(*aggregates)


def with_pair_history(context: DataFrame, history: DataFrame) -> DataFrame:
    """The window's pair context with `pair_windows_30d` and `pair_sessions_30d` (0 for a new pair)."""
    prior = history.groupBy(*PAIR_KEYS).agg(
        F.countDistinct("window_start_ts").cast("long").alias("pair_windows_30d"),
        F.sum("sessions_cnt").cast("long").alias("pair_sessions_30d"),
    )
    prior = prior.select(*[F.col(k).alias(f"_h_{k}") for k in PAIR_KEYS], "pair_windows_30d", "pair_sessions_30d")
    same = [F.col(k).eqNullSafe(F.col(f"_h_{k}")) for k in PAIR_KEYS]  # a null peer_port is one pair
    condition = same[0]
    for clause in same[1:]:
        condition = condition & clause
    joined = context.join(prior, condition, "left").drop(*[f"_h_{k}" for k in PAIR_KEYS])
    return joined.withColumn(
        "pair_windows_30d", F.coalesce(F.col("pair_windows_30d"), F.lit(0).cast("long"))
    ).withColumn("pair_sessions_30d", F.coalesce(F.col("pair_sessions_30d"), F.lit(0).cast("long")))


def new_pair_metrics(context: DataFrame) -> DataFrame:
    """Per host: pairs of this window not seen in the 30 days before, and their sessions."""
    new = F.col("pair_windows_30d") == 0
    return context.groupBy("host_ip").agg(
        F.count(F.when(new, 1)).cast("long").alias("new_pairs_cnt_w_15m"),
        F.coalesce(F.sum(F.when(new, F.col("sessions_cnt"))), F.lit(0))
        .cast("long")
        .alias("new_pair_sessions_cnt_w_15m"),
    )
