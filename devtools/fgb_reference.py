"""FG-B and FG-C recomputed in DuckDB SQL from the same inputs: the independent reference the tests compare
the Spark jobs against, and the baseline the FG-B benchmark measures Spark against.

It uses DuckDB's own aggregates (`quantile_cont`, `mad`, `avg`, `stddev_samp`), not the Spark code's
sorted-array formulas, so an error in either shows up as a difference.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

TS = "%Y-%m-%d %H:%M:%S"


@dataclass(frozen=True)
class Horizon:
    name: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Capping:
    method: str = "none"  # quantile | zscore | mad | none
    quantile: float = 0.995
    z_max: float = 6.0
    metrics: Sequence[str] | None = None


def _q(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def fg_b_sql(
    fg_a_glob: str,
    metrics: Sequence[str],
    horizons: Sequence[Horizon],
    *,
    feature_spec_version: str,
    required: Sequence[str] = (),
    capping: Capping = Capping(),
    support_min: int = 1,
    snapshot_glob: str | None = None,
    ip_column: str = "ip_address",
    name_column: str = "machine_name",
    non_persistent_prefixes: Sequence[str] = (),
) -> tuple[str, str]:
    """(host dataset SQL, segment dataset SQL) with the columns of FG-B's outputs (without run columns)."""
    in_any = " OR ".join(
        f"(window_start_ts >= TIMESTAMP {_q(h.start.strftime(TS))}"
        f" AND window_start_ts < TIMESTAMP {_q(h.end.strftime(TS))})"
        for h in horizons
    )
    required_ok = "".join(f" AND {m} IS NOT NULL" for m in required)
    horizon_rows = ", ".join(
        f"({_q(h.name)}, TIMESTAMP {_q(h.start.strftime(TS))}, TIMESTAMP {_q(h.end.strftime(TS))})" for h in horizons
    )
    metric_cols = ", ".join(f"CAST({m} AS DOUBLE) AS {m}" for m in metrics)
    capped = "TRUE" if capping.metrics is None else f"metric IN ({', '.join(_q(m) for m in capping.metrics)})"
    if capping.method == "quantile":
        low = f"quantile_cont(x, {1 - capping.quantile!r})"
        high = f"quantile_cont(x, {capping.quantile!r})"
    elif capping.method == "zscore":
        low, high = (f"avg(x) {sign} {capping.z_max!r} * stddev_samp(x)" for sign in "-+")
    elif capping.method == "mad":
        low, high = (f"median(x) {sign} {capping.z_max!r} * 1.4826 * mad(x)" for sign in "-+")
    else:
        low = high = "CAST(NULL AS DOUBLE)"
    if snapshot_glob is not None:
        mapping = f"""
        mapping AS (
          SELECT ip AS host_ip, min(name) AS machine_name FROM (
            SELECT DISTINCT trim(CAST({ip_column} AS VARCHAR)) AS ip, trim(CAST({name_column} AS VARCHAR)) AS name
            FROM read_parquet({_q(snapshot_glob)})
          ) WHERE ip IS NOT NULL AND ip <> '' AND name IS NOT NULL AND name <> ''
          GROUP BY ip HAVING count(*) = 1
        ),
        hosts0 AS (
          SELECT s.host_ip, m.machine_name, s.segment, s.is_vdi FROM seen s LEFT JOIN mapping m USING (host_ip)
          UNION ALL
          SELECT m.host_ip, m.machine_name, NULL, FALSE FROM mapping m ANTI JOIN seen s USING (host_ip)
        ),"""
    else:
        mapping = """
        hosts0 AS (SELECT host_ip, CAST(NULL AS VARCHAR) AS machine_name, segment, is_vdi FROM seen),"""
    prefix_match = " OR ".join(f"starts_with(lower(machine_name), {_q(p.lower())})" for p in non_persistent_prefixes)
    non_persistent = f"(is_vdi OR coalesce({prefix_match or 'FALSE'}, FALSE))"
    common = f"""
    WITH raw AS (
      SELECT * FROM read_parquet({_q(fg_a_glob)}, hive_partitioning = true, hive_types_autocast = false)
      WHERE feature_spec_version = {_q(feature_spec_version)}
    ),
    ranked AS (
      SELECT *, row_number() OVER (PARTITION BY host_ip, window_label
                                   ORDER BY window_end_ts DESC NULLS LAST, mini_batch_id DESC NULLS LAST) AS copy
      FROM raw WHERE ({in_any}) AND host_ip IS NOT NULL{required_ok}
    ),
    rows AS (
      SELECT host_ip, window_start_ts, segment, coalesce(is_vdi, FALSE) AS is_vdi, {metric_cols}
      FROM ranked WHERE copy = 1
    ),
    seen AS (
      SELECT host_ip,
             (array_agg(segment ORDER BY window_start_ts DESC, segment DESC NULLS LAST))[1] AS segment,
             bool_or(is_vdi) AS is_vdi
      FROM rows GROUP BY host_ip
    ),{mapping}
    hosts AS (
      SELECT host_ip, machine_name, segment, {non_persistent} AS non_persistent,
             CASE WHEN machine_name IS NOT NULL THEN 'machine' ELSE 'host' END AS own_level,
             coalesce(machine_name, host_ip) AS own_key
      FROM hosts0
    ),
    horizons(baseline_horizon, h_start, h_end) AS (VALUES {horizon_rows}),
    tagged AS (
      SELECT r.*, h.baseline_horizon, hs.own_level, hs.own_key, hs.non_persistent
      FROM rows r JOIN horizons h ON r.window_start_ts >= h.h_start AND r.window_start_ts < h.h_end
      JOIN hosts hs USING (host_ip)
    ),
    long AS (
      UNPIVOT tagged ON {", ".join(metrics)} INTO NAME metric VALUE x
    ),
    units AS (
      SELECT own_level AS level, own_key AS key, baseline_horizon, metric, x FROM long WHERE NOT non_persistent
      UNION ALL
      SELECT 'segment', segment, baseline_horizon, metric, x FROM long WHERE segment IS NOT NULL
    ),
    unit_rows AS (
      SELECT own_level AS level, own_key AS key, baseline_horizon, count(*) AS baseline_support
      FROM tagged WHERE NOT non_persistent GROUP BY ALL
      UNION ALL
      SELECT 'segment', segment, baseline_horizon, count(*) FROM tagged WHERE segment IS NOT NULL GROUP BY ALL
    ),
    bounds AS (
      SELECT level, key, baseline_horizon, metric,
             CASE WHEN {capped} THEN {low} END AS cap_low, CASE WHEN {capped} THEN {high} END AS cap_high
      FROM units GROUP BY level, key, baseline_horizon, metric
    ),
    clipped AS (
      SELECT u.level, u.key, u.baseline_horizon, u.metric, b.cap_low, b.cap_high,
             CASE WHEN b.cap_low IS NOT NULL AND u.x < b.cap_low THEN b.cap_low
                  WHEN b.cap_high IS NOT NULL AND u.x > b.cap_high THEN b.cap_high ELSE u.x END AS x
      FROM units u JOIN bounds b USING (level, key, baseline_horizon, metric)
    ),
    stats AS (
      SELECT level, key, baseline_horizon, metric,
             count(x) AS support_count, quantile_cont(x, 0.5) AS median, CAST(mad(x) AS DOUBLE) AS mad,
             quantile_cont(x, 0.05) AS p05, quantile_cont(x, 0.25) AS p25,
             quantile_cont(x, 0.75) AS p75, quantile_cont(x, 0.95) AS p95,
             avg(x) AS mean, stddev_samp(x) AS std, min(x) AS min, max(x) AS max,
             any_value(cap_low) AS cap_low, any_value(cap_high) AS cap_high
      FROM clipped GROUP BY ALL
    ),
    full_stats AS (SELECT * FROM stats JOIN unit_rows USING (level, key, baseline_horizon))
    """
    host = (
        common
        + f"""
    , targets AS (
      SELECT hs.host_ip, h.baseline_horizon, hs.machine_name, hs.segment, hs.non_persistent,
             coalesce(u.baseline_support, 0) AS own_support,
             (NOT hs.non_persistent AND coalesce(u.baseline_support, 0) >= {int(support_min)}) AS uses_own,
             hs.own_level, hs.own_key
      FROM hosts hs CROSS JOIN horizons h
      LEFT JOIN unit_rows u ON u.level = hs.own_level AND u.key = hs.own_key
                           AND u.baseline_horizon = h.baseline_horizon
    )
    SELECT t.host_ip, t.baseline_horizon, s.metric,
           CASE WHEN t.uses_own THEN t.own_level ELSE 'segment' END AS baseline_source,
           CASE WHEN t.uses_own THEN t.own_key ELSE t.segment END AS baseline_key,
           t.machine_name, t.segment, t.non_persistent,
           (NOT t.uses_own AND NOT t.non_persistent) AS support_fallback,
           t.own_support, s.baseline_support, s.support_count, s.median, s.mad, s.p05, s.p25, s.p75, s.p95,
           s.mean, s.std, s.min, s.max, s.cap_low, s.cap_high
    FROM targets t JOIN full_stats s
      ON s.level = CASE WHEN t.uses_own THEN t.own_level ELSE 'segment' END
     AND s.key = CASE WHEN t.uses_own THEN t.own_key ELSE t.segment END
     AND s.baseline_horizon = t.baseline_horizon
    """
    )
    segment = (
        common
        + """
    SELECT key AS segment, baseline_horizon, metric, baseline_support, support_count, median, mad,
           p05, p25, p75, p95, mean, std, min, max, cap_low, cap_high
    FROM full_stats WHERE level = 'segment'
    """
    )
    return host, segment


def records(sql: str, threads: int | None = None) -> list[dict[str, Any]]:
    """The query's rows as dicts (column name -> value)."""
    connection = duckdb.connect()
    if threads:
        connection.execute(f"SET threads = {int(threads)}")
    cursor = connection.execute(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


STATS = ("median", "mad", "p05", "p25", "p75", "p95", "mean", "std", "min", "max")


def fg_c_long_sql(
    fg_a_glob: str,
    host_glob: str,
    segment_glob: str,
    mini_batch_id: str,
    metrics: Sequence[str],
    horizons: Sequence[str],
    *,
    host_dt: str,
    segment_dt: str,
    eps: str,
    z_max: str,
    keys: Sequence[str],
) -> str:
    """One row per FG-A row, metric and horizon with `source`, `z`, `logratio`, `pctl` (FG-C before pivoting).

    The percentile position is written with list functions (first knot above x, last knot below x), not the
    nested CASE of the Spark code.
    """
    horizon_rows = ", ".join(f"({_q(h)})" for h in horizons)
    pick = ", ".join(f"CASE WHEN h.baseline_source IS NOT NULL THEN h.{s} ELSE sg.{s} END AS {s}" for s in STATS)
    key_list = ", ".join(keys)
    return f"""
    WITH a AS (
      SELECT * FROM read_parquet({_q(fg_a_glob)}, hive_partitioning = true, hive_types_autocast = false)
      WHERE mini_batch_id = {_q(mini_batch_id)}
    ),
    long AS (
      SELECT {key_list}, segment AS seg, metric, CAST(x AS DOUBLE) AS x
      FROM (UNPIVOT (SELECT {key_list}, segment, {", ".join(f"CAST({m} AS DOUBLE) AS {m}" for m in metrics)} FROM a)
            ON {", ".join(metrics)} INTO NAME metric VALUE x)
    ),
    hz(baseline_horizon) AS (VALUES {horizon_rows}),
    host AS (
      SELECT * FROM read_parquet({_q(host_glob)}, hive_partitioning = true, hive_types_autocast = false)
      WHERE dt = {_q(host_dt)}
    ),
    seg AS (
      SELECT * FROM read_parquet({_q(segment_glob)}, hive_partitioning = true, hive_types_autocast = false)
      WHERE dt = {_q(segment_dt)}
    ),
    joined AS (
      SELECT l.*, hz.baseline_horizon,
             coalesce(h.baseline_source, CASE WHEN sg.median IS NOT NULL THEN 'segment' END) AS source, {pick}
      FROM long l CROSS JOIN hz
      LEFT JOIN host h ON h.host_ip = l.host_ip AND h.baseline_horizon = hz.baseline_horizon AND h.metric = l.metric
      LEFT JOIN seg sg ON sg.segment = l.seg AND sg.baseline_horizon = hz.baseline_horizon AND sg.metric = l.metric
    ),
    knots AS (
      SELECT *, [min, p05, p25, median, p75, p95, max] AS q, [0.0, 0.05, 0.25, 0.5, 0.75, 0.95, 1.0] AS p
      FROM joined
    ),
    positioned AS (
      SELECT *,
             list_position(list_transform(q, lambda v: v > x), true) AS above,
             8 - list_position(list_reverse(list_transform(q, lambda v: v < x)), true) AS below
      FROM knots
    )
    SELECT {key_list}, metric, baseline_horizon, source,
           CASE WHEN median IS NOT NULL THEN
             greatest(least((x - median) / (1.4826 * mad + CAST({eps} AS DOUBLE)), CAST({z_max} AS DOUBLE)),
                      -CAST({z_max} AS DOUBLE)) END AS z,
           CASE WHEN median IS NOT NULL THEN ln(1 + greatest(x, 0)) - ln(1 + greatest(median, 0)) END AS logratio,
           CASE WHEN median IS NOT NULL THEN (
             (CASE WHEN below IS NULL THEN 0.0 WHEN below = 7 THEN 1.0
                   ELSE p[below] + (p[below + 1] - p[below]) * (x - q[below]) / (q[below + 1] - q[below]) END)
             + (CASE WHEN above IS NULL THEN 1.0 WHEN above = 1 THEN 0.0
                     ELSE p[above - 1] + (p[above] - p[above - 1]) * (x - q[above - 1]) / (q[above] - q[above - 1]) END)
           ) / 2 END AS pctl
    FROM positioned
    """
