"""FG-C's rare-pair metrics (formulas in docs/runtime.md "FG-C", catalog in runtime.features.rare_pairs).

pair_counts family, per host (= the pair's source_ip) and horizon h, with P the host's pairs in this batch's
pair counts and B_h the pairs of FG-B's `pair/` baseline of h (the newest FG-B day <= the batch's day):
  new_pair_cnt    (destination_ip, destination_port) in P with no such pair of the host in B_h
  new_pair_events sum of event_count over those
  new_peer_cnt    destination_ip in P with no pair of the host to that address in B_h (any port)
  new_port_cnt    non-null destination_port in P with no pair of the host on that port in B_h (any address)
0 for a host with no pairs in the batch; null for every host when FG-B has no pair baseline of h.
A null destination_port is one pair value (null-safe equality).

pair_context family, per host over this window's pair context rows with pair_windows_30d = 0:
  ctx_new_pair_cnt (rows), ctx_new_pair_sessions (sum sessions_cnt), ctx_new_pair_bytes_src (sum bytes_src_sum)
0 for a host without new pairs; null for every host when the window has no pair context rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from runtime.batch import BatchContext
from runtime.errors import RuntimeJobError
from runtime.features.rare_pairs import PAIR_CONTEXT_METRICS, PAIR_COUNT_METRICS
from runtime.spark_io.partitions import read_batch_partitions
from runtime.storage import Storage


def read_batch(
    spark: Any, storage: Storage, prefix: str, batch: BatchContext, needed: Sequence[str]
) -> DataFrame | None:
    """This batch's rows of a per-batch dataset, which must have the `needed` columns."""
    frame = read_batch_partitions(spark, storage, prefix, batch)
    if frame is None:
        return None
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise RuntimeJobError(f"{prefix} lacks the columns {missing} the rare-pair metrics read")
    return frame


PAIR = 0  # (destination_ip, destination_port): new_pair_cnt, new_pair_events
PEER = 1  # (destination_ip, null): new_peer_cnt
PORT = 2  # (null, destination_port), non-null ports only: new_port_cnt


def _keyed(frame: DataFrame, *extra: str) -> DataFrame:
    """Each pair row as up to three (host_ip, _kind, destination_ip, destination_port) keys, one per kind."""

    def key(kind: int, ip: Column, port: Column) -> Column:
        return F.struct(
            F.lit(kind).alias("_kind"),
            ip.cast("string").alias("destination_ip"),
            port.cast("int").alias("destination_port"),
        )

    ip, port, no_ip, no_port = F.col("destination_ip"), F.col("destination_port"), F.lit(None), F.lit(None)
    keys = F.array(key(PAIR, ip, port), key(PEER, ip, no_port), F.when(port.isNotNull(), key(PORT, no_ip, port)))
    exploded = frame.select(F.col("host_ip").cast("string").alias("host_ip"), *extra, F.explode(keys).alias("_k"))
    return exploded.where(F.col("_k").isNotNull()).select("host_ip", "_k.*", *extra)


def pair_count_metrics(
    pairs: DataFrame | None, baseline: DataFrame | None, horizons: Sequence[str], names: Sequence[str]
) -> tuple[DataFrame | None, dict[str, bool]]:
    """Per host, `<name>_<h>` for the listed pair_counts metrics; and which horizons have a pair baseline.

    One pass: the batch's pairs and the baseline's pairs become (host, kind, address, port) keys of three
    kinds (the pair, its address alone, its port alone); a key of the batch is new in h when the baseline has
    no such key in h (null-safe: a null port or address is one value).
    """
    present = (
        {row[0] for row in baseline.select("baseline_horizon").distinct().collect()} if baseline is not None else set()
    )
    has = {h: h in present for h in horizons}
    wanted = [n for n in names if n in PAIR_COUNT_METRICS]
    if pairs is None or not wanted or not any(has.values()):
        return None, has
    assert baseline is not None
    scored = [h for h in horizons if has[h]]
    key_columns = ("host_ip", "_kind", "destination_ip", "destination_port")
    current = (
        _keyed(
            pairs.select(
                F.col("source_ip").alias("host_ip"),
                "destination_ip",
                "destination_port",
                F.col("event_count").cast("long").alias("event_count"),
            ),
            "event_count",
        )
        .groupBy(*key_columns)
        .agg(F.sum("event_count").alias("event_count"))
    )
    source = baseline.select(
        F.col("source_ip").alias("host_ip"), "destination_ip", "destination_port", "baseline_horizon"
    )
    known = (
        _keyed(source, "baseline_horizon")
        .where(F.col("baseline_horizon").isin(scored))
        .groupBy(*key_columns)
        .agg(*[F.max(F.col("baseline_horizon") == h).alias(f"_known_{h}") for h in scored])
    )
    known = known.select(*[F.col(c).alias(f"_b_{c}") for c in key_columns], *[f"_known_{h}" for h in scored])
    same = [F.col(c).eqNullSafe(F.col(f"_b_{c}")) for c in key_columns]
    condition = same[0]
    for clause in same[1:]:
        condition = condition & clause
    joined = current.join(known, condition, "left")

    def new(kind: int, h: str) -> Column:
        return (F.col("_kind") == kind) & ~F.coalesce(F.col(f"_known_{h}"), F.lit(False))

    formulas = {
        "new_pair_cnt": lambda h: F.count(F.when(new(PAIR, h), 1)),
        "new_pair_events": lambda h: F.sum(F.when(new(PAIR, h), F.col("event_count"))),
        "new_peer_cnt": lambda h: F.count(F.when(new(PEER, h), 1)),
        "new_port_cnt": lambda h: F.count(F.when(new(PORT, h), 1)),
    }
    result = joined.groupBy("host_ip").agg(*[formulas[n](h).alias(f"{n}_{h}") for n in wanted for h in scored])
    columns = [f"{n}_{h}" for n in wanted for h in horizons if has[h]]
    return result.select("host_ip", *[F.coalesce(F.col(c), F.lit(0)).cast("long").alias(c) for c in columns]), has


def pair_context_metrics(context: DataFrame | None, names: Sequence[str]) -> DataFrame | None:
    """Per host, the listed pair_context metrics over this window's new pairs (None without context rows)."""
    wanted = [n for n in names if n in PAIR_CONTEXT_METRICS]
    if context is None or not wanted or context.limit(1).count() == 0:
        return None
    new = F.col("pair_windows_30d") == 0
    formulas = {
        "ctx_new_pair_cnt": F.count(F.when(new, 1)),
        "ctx_new_pair_sessions": F.coalesce(F.sum(F.when(new, F.col("sessions_cnt"))), F.lit(0)),
        "ctx_new_pair_bytes_src": F.coalesce(F.sum(F.when(new, F.col("bytes_src_sum"))), F.lit(0)),
    }
    return context.groupBy(F.col("host_ip").cast("string").alias("host_ip")).agg(
        *[formulas[n].cast("long").alias(n) for n in wanted]
    )


def rare_pair_columns(names: Sequence[str], horizons: Sequence[str]) -> list[str]:
    """Output columns in order: pair_counts metrics per horizon, then pair_context metrics."""
    return [f"{n}_{h}" for n in names if n in PAIR_COUNT_METRICS for h in horizons] + [
        n for n in names if n in PAIR_CONTEXT_METRICS
    ]


def with_rare_pairs(
    features: DataFrame,
    by_pair_counts: DataFrame | None,
    has_baseline: dict[str, bool],
    by_context: DataFrame | None,
    names: Sequence[str],
    horizons: Sequence[str],
) -> DataFrame:
    """The FG-C rows with the rare-pair columns: 0 for a host with none, null where the source is missing."""
    for extra in (by_pair_counts, by_context):
        if extra is not None:
            features = features.join(extra, "host_ip", "left")
    columns = []
    for name in names:
        if name in PAIR_COUNT_METRICS:
            for h in horizons:
                column = f"{name}_{h}"
                if by_pair_counts is not None and has_baseline.get(h):
                    columns.append(F.coalesce(F.col(column), F.lit(0)).cast("long").alias(column))
                else:
                    columns.append(F.lit(None).cast("long").alias(column))
        elif by_context is not None:
            columns.append(F.coalesce(F.col(name), F.lit(0)).cast("long").alias(name))
        else:
            columns.append(F.lit(None).cast("long").alias(name))
    base = [c for c in features.columns if c not in rare_pair_columns(names, horizons)]
    return features.select(*base, *columns)
