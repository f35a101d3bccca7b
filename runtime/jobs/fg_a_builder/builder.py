"""FG-A builder: per host and 15-minute window, trailing 15m/1h/8h/24h metrics over the delta rows.

Trailing window `h` of the window starting at W (the batch start floored to 08/23/38/53) holds the delta
rows of every batch whose `batch_start_ts` is in (W - h, W]: the last h/15m batch windows, this one
included. A host gets a row when it has delta rows in this window (15m).

Each delta row is tagged once with its recency: the index of the shortest trailing window holding it (the
windows are nested). Every metric then tests `recency <= index(h)`, a constant of the spec, never the batch's
timestamps: the large generated classes of the aggregations are the same for every batch, so a warm worker's
code-generation cache reuses them (a timestamp literal is inlined into generated Java; a new batch recompiled
them all). Distinct counts avoid Spark's per-distinct row expansion: rows are first reduced to one row per
(host, value) with the lowest recency it was seen with; a value is in window h iff that is <= index(h).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pyspark.sql import Column, DataFrame, Observation
from pyspark.sql import functions as F

from runtime.batch import BatchContext
from runtime.features.fg_a import OUTPUT_IDENTITY_COLUMNS
from runtime.features.segments import Segment, load_segments
from runtime.jobs.fg_a_builder.delta_reader import read_delta
from runtime.jobs.fg_a_builder.history import (
    LOOKBACK_SCHEMA,
    PAIR_COLUMNS,
    PAIR_SCHEMA,
    lookback_rows,
    new_pair_metrics,
    rare_columns,
    rare_metrics,
    read_history,
    with_pair_history,
)
from runtime.jobs.fg_a_builder.spec import HORIZON_MINUTES, FgAJobSpec
from runtime.jsonlog import log
from runtime.orchestration.window import floor_to_cron, iso_z, to_utc
from runtime.spark_io.batch_columns import BuildResult
from runtime.spark_io.readers import corrupt_input_as_error
from runtime.spark_io.writers import write_metrics, write_partitioned
from runtime.sparkexpr import in_cidrs
from runtime.storage import Storage

JOB = "fg_a_builder"
RECENCY = "_recency"
TIMES: tuple[str, ...] = ("window_start_ts", "window_end_ts")
"""Carried on every delta row (`_<name>`) and taken per host: timestamp literals in the final projection would
make its generated class differ per batch."""


def metric_names(spec: FgAJobSpec) -> list[str]:
    """Metric names (without the `_w_<size>` suffix), in output order."""
    names = [
        "sessions_cnt",
        "bytes_src_sum",
        "bytes_dst_sum",
        "distinct_peers_cnt",
        "distinct_peer_ports_cnt",
        "distinct_peer_port_sets_cnt",
        "internal_peers_cnt",
        "external_peers_cnt",
        "duration_max",
        "duration_mean",
        "port_set_hits_cnt",
    ]
    names += [f"port_set_{name}_hits_cnt" for name in spec.port_sets]
    for role in spec.roles:
        names += [
            f"{role}_sessions_cnt",
            f"{role}_bytes_src_sum",
            f"{role}_bytes_dst_sum",
            f"{role}_distinct_peers_cnt",
        ]
    if spec.high_risk_segments:
        names += ["high_risk_sessions_cnt", "high_risk_peers_cnt"]
    return names


def segment_of(column: Column, segments: Sequence[Segment], default: str | None) -> Column:
    """The first segment whose CIDRs hold the IPv4 address, else `default` (null when not set)."""
    expression = F.lit(default).cast("string")
    for segment in reversed(list(segments)):
        expression = F.when(in_cidrs(column, segment.cidrs), F.lit(segment.name)).otherwise(expression)
    return expression


class Windows:
    """The trailing windows of one FG-A window (15m first, then longer, each holding the shorter ones)."""

    def __init__(self, window_start: datetime, horizons: Sequence[str]) -> None:
        self.horizons = tuple(h for h in HORIZON_MINUTES if h == "15m" or h in horizons)
        self.lower = {h: iso_z(window_start - timedelta(minutes=HORIZON_MINUTES[h])) for h in self.horizons}

    def recency(self) -> Column:
        """Index of the shortest window whose (W - h, W] holds the row's `batch_start_ts` (the only place the
        batch's timestamps appear); len(horizons) for an older row (read_delta reads none)."""

        def holds(horizon: str) -> Column:
            return F.col("batch_start_ts") > F.lit(self.lower[horizon]).cast("timestamp")

        expression = F.when(holds(self.horizons[0]), F.lit(0))
        for index, horizon in enumerate(self.horizons[1:], start=1):
            expression = expression.when(holds(horizon), F.lit(index))
        return expression.otherwise(F.lit(len(self.horizons)))

    def inside(self, horizon: str) -> Column:
        """The row (or value, by its lowest recency) is in window `horizon`."""
        return F.col(RECENCY) <= F.lit(self.horizons.index(horizon))


def _row_metrics(rows: DataFrame, spec: FgAJobSpec, windows: Windows) -> DataFrame:
    """Counts, sums, max and mean over each trailing window, one pass grouped by host."""
    aggregates: list[Column] = [
        F.count(F.when(windows.inside("15m"), 1)).alias("_present"),
        F.coalesce(F.max(F.when(windows.inside("15m"), F.col("host_is_vdi"))), F.lit(False)).alias("is_vdi"),
        *[F.max(f"_{name}").alias(name) for name in TIMES],
    ]
    port_set = F.col("peer_port_set")
    for h in windows.horizons:
        inside = windows.inside(h)

        def count(condition: Column, name: str, h: str = h, inside: Column = inside) -> Column:
            return F.count(F.when(inside & condition, 1)).alias(f"{name}_w_{h}")

        def total(value: str, condition: Column, name: str, h: str = h, inside: Column = inside) -> Column:
            return (
                F.coalesce(F.sum(F.when(inside & condition, F.col(value))), F.lit(0))
                .cast("long")
                .alias(f"{name}_w_{h}")
            )

        always = F.lit(True)
        aggregates += [
            count(always, "sessions_cnt"),
            total("bytes_sent", always, "bytes_src_sum"),
            total("bytes_recv", always, "bytes_dst_sum"),
            F.coalesce(F.max(F.when(inside, F.col("duration_s"))), F.lit(0.0)).alias(f"duration_max_w_{h}"),
            F.coalesce(F.avg(F.when(inside, F.col("duration_s"))), F.lit(0.0)).alias(f"duration_mean_w_{h}"),
            count(port_set.isNotNull(), "port_set_hits_cnt"),
        ]
        aggregates += [count(port_set == name, f"port_set_{name}_hits_cnt") for name in spec.port_sets]
        for role in spec.roles:
            is_role = F.col("role") == role
            aggregates += [
                count(is_role, f"{role}_sessions_cnt"),
                total("bytes_sent", is_role, f"{role}_bytes_src_sum"),
                total("bytes_recv", is_role, f"{role}_bytes_dst_sum"),
            ]
        if spec.high_risk_segments:
            aggregates.append(count(F.col("_peer_high_risk"), "high_risk_sessions_cnt"))
    return rows.groupBy("host_ip").agg(*aggregates).filter(F.col("_present") > 0).drop("_present")


@dataclass(frozen=True)
class DistinctSet:
    """Distinct `keys` values per host (rows where `where` holds), counted per horizon under each condition of
    `counted` (metric name -> condition over `keys`, constant per value by construction)."""

    keys: tuple[str, ...]
    counted: dict[str, Column]
    where: Column | None = None


def _distinct_metrics(rows: DataFrame, windows: Windows, sets: Sequence[DistinctSet]) -> DataFrame:
    """Per host and horizon: how many distinct values of each set fall in the window, for each condition.

    One pass for every set: each row yields one entry per set (its key columns, the other sets' key columns
    null), rows are reduced to one per (host, set, value) with the lowest recency it was seen with, and a
    value is in window h iff that is <= index(h).
    """
    columns = list(dict.fromkeys(key for s in sets for key in s.keys))
    types = dict(rows.dtypes)
    entries = []
    for index, distinct in enumerate(sets):
        entry = F.struct(
            F.lit(index).alias("_set"),
            *[(F.col(c) if c in distinct.keys else F.lit(None).cast(types[c])).alias(c) for c in columns],
        )
        entries.append(entry if distinct.where is None else F.when(distinct.where, entry))
    exploded = rows.select("host_ip", RECENCY, F.explode(F.array(*entries)).alias("_entry"))
    seen = (
        exploded.where(F.col("_entry").isNotNull())
        .select("host_ip", RECENCY, "_entry.*")
        .groupBy("host_ip", "_set", *columns)
        .agg(F.min(RECENCY).alias(RECENCY))
    )
    aggregates = [
        F.count(F.when((F.col("_set") == index) & windows.inside(h) & condition, 1)).alias(f"{name}_w_{h}")
        for index, distinct in enumerate(sets)
        for h in windows.horizons
        for name, condition in distinct.counted.items()
    ]
    return seen.groupBy("host_ip").agg(*aggregates)


def fg_a_frame(
    rows: DataFrame,
    spec: FgAJobSpec,
    batch: BatchContext,
    window_start: datetime,
    segments: tuple[Segment, ...],
    windows: Windows,
) -> DataFrame:
    """FG-A rows (lazy) from the delta rows of the longest trailing window, tagged with `windows.recency()`."""
    internal = (
        F.col("peer_is_internal")
        if "peer_is_internal" in rows.columns
        else in_cidrs(F.col("peer_ip"), spec.internal_cidrs)
    )
    rows = rows.withColumn("_peer_internal", F.coalesce(internal, F.lit(False)))
    if spec.high_risk_segments:
        peer_segment = segment_of(F.col("peer_ip"), segments, spec.segment_default)
        rows = rows.withColumn(
            "_peer_high_risk", F.coalesce(peer_segment.isin(list(spec.high_risk_segments)), F.lit(False))
        )
    peers: dict[str, Column] = {"distinct_peers_cnt": F.lit(True)}
    if spec.high_risk_segments:
        peers["high_risk_peers_cnt"] = F.col("_peer_high_risk")
    scoped = {"internal_peers_cnt": F.col("_peer_internal"), "external_peers_cnt": ~F.col("_peer_internal")}
    sets = [
        DistinctSet(("peer_ip", *(["_peer_high_risk"] if spec.high_risk_segments else [])), peers),
        DistinctSet(("peer_ip", "_peer_internal"), scoped),
        DistinctSet(("peer_port",), {"distinct_peer_ports_cnt": F.lit(True)}, F.col("peer_port").isNotNull()),
        DistinctSet(
            ("peer_port_set",), {"distinct_peer_port_sets_cnt": F.lit(True)}, F.col("peer_port_set").isNotNull()
        ),
    ]
    if spec.roles:
        sets.append(
            DistinctSet(
                ("role", "peer_ip"), {f"{role}_distinct_peers_cnt": F.col("role") == role for role in spec.roles}
            )
        )
    joined = _row_metrics(rows, spec, windows).join(_distinct_metrics(rows, windows, sets), "host_ip", "left")
    label = f"{window_start:%Y-%m-%dT%H:%M}Z"
    identity = {
        "host_ip": F.col("host_ip"),
        "window_label": F.lit(label),
        **{name: F.col(name) for name in TIMES},
        "project_name": F.lit(batch.project_name),
        "feature_spec_version": F.lit(batch.feature_spec_version),
        "mini_batch_id": F.lit(batch.mini_batch_id),
        "dt": F.lit(f"{window_start:%Y-%m-%d}"),
        "segment": (
            segment_of(F.col("host_ip"), segments, spec.segment_default)
            if spec.segment_mapping
            else F.lit(None).cast("string")
        ),
        "is_vdi": F.col("is_vdi"),
    }
    metrics = []
    for name in metric_names(spec):
        for h in spec.horizons:
            column = f"{name}_w_{h}"
            kind = "double" if name.startswith("duration_") else "long"
            metrics.append(F.coalesce(F.col(column), F.lit(0)).cast(kind).alias(column))
    return joined.select(*[identity[name].alias(name) for name in OUTPUT_IDENTITY_COLUMNS], *metrics)


def window_identity(batch: BatchContext, window_start: datetime) -> list[Column]:
    """The window's identity columns (after the keys) of pair context and lookback rows."""
    return [
        F.lit(f"{window_start:%Y-%m-%dT%H:%M}Z").alias("window_label"),
        F.lit(iso_z(window_start)).cast("timestamp").alias("window_start_ts"),
        F.lit(batch.batch_end_ts_iso).cast("timestamp").alias("window_end_ts"),
        F.lit(batch.project_name).alias("project_name"),
        F.lit(batch.feature_spec_version).alias("feature_spec_version"),
        F.lit(batch.mini_batch_id).alias("mini_batch_id"),
        F.lit(f"{window_start:%Y-%m-%d}").alias("dt"),
    ]


def pair_context_frame(current: DataFrame, batch: BatchContext, window_start: datetime) -> DataFrame:
    """Host-peer-port context of this window: sessions and bytes per (host_ip, peer_ip, peer_port)."""
    grouped = current.groupBy("host_ip", "peer_ip", "peer_port").agg(
        F.count(F.lit(1)).alias("sessions_cnt"),
        F.coalesce(F.sum("bytes_sent"), F.lit(0)).cast("long").alias("bytes_src_sum"),
        F.coalesce(F.sum("bytes_recv"), F.lit(0)).cast("long").alias("bytes_dst_sum"),
    )
    return grouped.select(
        "host_ip",
        "peer_ip",
        "peer_port",
        *window_identity(batch, window_start),
        "sessions_cnt",
        "bytes_src_sum",
        "bytes_dst_sum",
    )


def _with_extras(frame: DataFrame, extras: Sequence[tuple[DataFrame, Sequence[str]]]) -> DataFrame:
    """FG-A rows with the per-host history metrics joined on (0 for a host with none of them)."""
    columns = list(frame.columns)
    for extra, names in extras:
        frame = frame.join(extra, "host_ip", "left")
        columns += list(names)
    base = set(columns) - {name for _, names in extras for name in names}
    return frame.select(*[c if c in base else F.coalesce(F.col(c), F.lit(0)).cast("long").alias(c) for c in columns])


def run_fg_a_builder(spark: Any, spec: FgAJobSpec, batch: BatchContext, storage: Storage) -> BuildResult:
    window_start = floor_to_cron(to_utc(batch.batch_start_ts_iso))
    longest = max(HORIZON_MINUTES[h] for h in (*spec.horizons, "15m"))
    earliest = window_start - timedelta(minutes=longest)
    lookback = spec.lookback30d
    dimensions = lookback.dimensions if lookback else ()
    rows, folders = read_delta(
        spark,
        storage,
        spec.delta_prefix,
        batch.feature_spec_version,
        earliest,
        window_start,
        tuple(d.column for d in dimensions),
    )
    segments = load_segments(storage, spec.segment_mapping) if spec.segment_mapping else ()
    read = Observation(f"fg_a_rows_{batch.mini_batch_id}")
    windows = Windows(window_start, spec.horizons)
    # Cached: read once for every consumer, and the stages after it are free of the batch's timestamps.
    rows = rows.observe(read, F.count(F.lit(1)).alias("delta_rows_read")).select(
        "*",
        windows.recency().alias(RECENCY),
        F.lit(iso_z(window_start)).cast("timestamp").alias("_window_start_ts"),
        F.lit(batch.batch_end_ts_iso).cast("timestamp").alias("_window_end_ts"),
    )
    rows = rows.cache()
    current = rows.filter(windows.inside("15m"))
    identity = window_identity(batch, window_start)
    extras: list[tuple[DataFrame, Sequence[str]]] = []
    history_read: dict[str, int] = {}
    window_values = None
    with corrupt_input_as_error(storage):
        if lookback is not None and dimensions:
            window_values = lookback_rows(current, dimensions).cache()  # feeds the FG-A rows and its own write
            past, history_read["lookback30d"] = read_history(
                spark,
                storage,
                lookback.output.s3_prefix,
                batch.feature_spec_version,
                window_start,
                LOOKBACK_SCHEMA,
                batch.mini_batch_id,
            )
            extras.append((rare_metrics(window_values, past, dimensions), rare_columns(dimensions)))
        context = None
        if spec.pair_context_output is not None or spec.pair_context_input is not None:
            context = pair_context_frame(current, batch, window_start)
            if spec.pair_context_input is not None:
                pairs, history_read["pair_context_input"] = read_history(
                    spark,
                    storage,
                    spec.pair_context_input,
                    batch.feature_spec_version,
                    window_start,
                    PAIR_SCHEMA,
                    batch.mini_batch_id,
                )
                context = with_pair_history(context, pairs).cache()  # feeds the FG-A rows and its own write
                extras.append((new_pair_metrics(context), PAIR_COLUMNS))
        written = Observation(f"fg_a_hosts_{batch.mini_batch_id}")
        frame = _with_extras(fg_a_frame(rows, spec, batch, window_start, segments, windows), extras)
        frame = frame.observe(written, F.count(F.lit(1)).alias("hosts"))
        keys = write_partitioned(frame, spec.output, storage, JOB, batch.mini_batch_id)
        if spec.pair_context_output is not None and context is not None:
            write_partitioned(
                context, spec.pair_context_output, storage, f"{JOB} pair_context_output", batch.mini_batch_id
            )
        if lookback is not None and window_values is not None:
            write_partitioned(
                window_values.select("host_ip", "dimension", "value", *identity, "sessions_cnt"),
                lookback.output,
                storage,
                f"{JOB} lookback30d",
                batch.mini_batch_id,
            )
    for cached in (rows, context, window_values):
        if cached is not None:
            cached.unpersist()
    metrics: dict[str, Any] = {
        **batch.metrics_header(JOB),
        "window_label": f"{window_start:%Y-%m-%dT%H:%M}Z",
        "delta_rows_read": int(read.get.get("delta_rows_read") or 0),
        "hosts": int(written.get.get("hosts") or 0),
        "dt_partitions_read": folders,
        "horizons": list(spec.horizons),
        **({"history_partitions_read": history_read} if history_read else {}),
    }
    metrics_uri = write_metrics(storage, spec.output.s3_prefix, JOB, batch.mini_batch_id, metrics)
    log("fg_a_built", output=spec.output.s3_prefix, partition_keys=list(keys), hosts=metrics["hosts"])
    return BuildResult(spec.output.s3_prefix, keys, metrics, metrics_uri)
