"""FG-B builder: robust baselines of FG-A metrics per host / machine / segment and horizon, daily.

For a reference time R and a horizon h with safety gap g, the history is every FG-A row with
R - g - h <= window_start_ts < R - g. See docs/runtime.md "FG-B" for the output columns and formulas.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from runtime.config.output import OutputSpec
from runtime.errors import RuntimeJobError
from runtime.features.fg_a import metric_columns
from runtime.features.fg_b import HOST_DATASET, PAIR_DATASET, SEGMENT_DATASET
from runtime.features.segments import load_segments
from runtime.jobs.fg_b_builder.pairs import pair_baseline, read_pair_history
from runtime.jobs.fg_b_builder.spec import FgBJobSpec
from runtime.jobs.fg_b_builder.stats import STAT_COLUMNS, clamped_moments, with_order_statistics
from runtime.jsonlog import log
from runtime.spark_io.batch_columns import BuildResult
from runtime.spark_io.partitions import day_range, find_partitions, read_partitions, spark_path
from runtime.spark_io.writers import write_metrics, write_partitioned
from runtime.sparkexpr import first_cidr_match, starts_with_any
from runtime.storage import Storage, as_dir, join

JOB = "fg_b_builder"
TS_FORMAT = "%Y-%m-%d %H:%M:%S"
OPEN_COST = "spark.sql.files.openCostInBytes"
FGB_OPEN_COST_BYTES = 128 * 1024


@dataclass(frozen=True)
class HorizonWindow:
    name: str
    start: datetime
    end: datetime

    def contains(self, ts: Column) -> Column:
        return (ts >= F.lit(self.start.strftime(TS_FORMAT)).cast("timestamp")) & (
            ts < F.lit(self.end.strftime(TS_FORMAT)).cast("timestamp")
        )


@dataclass(frozen=True)
class BaselineRun:
    """What one FG-B run is about: the reference time, its day and the history window of each horizon."""

    project_name: str
    feature_spec_version: str
    reference: datetime
    windows: tuple[HorizonWindow, ...]

    @property
    def dt(self) -> str:
        return f"{self.reference:%Y-%m-%d}"

    @property
    def mini_batch_id(self) -> str:
        return f"baseline-{self.dt}"

    def days(self) -> tuple[str, str]:
        first = min(w.start for w in self.windows)
        last = max(w.end for w in self.windows) - timedelta(microseconds=1)
        return f"{first:%Y-%m-%d}", f"{last:%Y-%m-%d}"


def plan_run(spec: FgBJobSpec, reference: datetime, feature_spec_version: str) -> BaselineRun:
    reference = reference.replace(tzinfo=None)
    windows = []
    for name in spec.horizons:
        end = reference - spec.gap(name)
        windows.append(HorizonWindow(name, end - spec.horizon(name), end))
    return BaselineRun(spec.project_name, feature_spec_version, reference, tuple(windows))


def read_fg_a_history(spark: Any, storage: Storage, spec: FgBJobSpec, run: BaselineRun) -> DataFrame:
    """Only the `dt` folders the horizons and gaps need (and this feature_spec_version's, if partitioned so)."""
    first, last = run.days()
    accept = day_range(run.feature_spec_version, first, last)
    partitions = find_partitions(storage, spec.fg_a_prefix, accept, stop_at="dt")
    frame = read_partitions(spark, storage, spec.fg_a_prefix, partitions)
    if frame is None:
        raise RuntimeJobError(
            f"no FG-A history under {as_dir(spec.fg_a_prefix)} for dt {first}..{last} "
            f"(feature_spec_version={run.feature_spec_version})"
        )
    return frame


def choose_metrics(frame: DataFrame, spec: FgBJobSpec) -> list[str]:
    available = metric_columns(frame.dtypes)
    missing_required = [m for m in spec.baseline_required_metrics if m not in available]
    if missing_required:
        raise RuntimeJobError(
            f"FG-A lacks the baseline_required_metrics {missing_required} (numeric <metric>_w_<size> columns "
            f"present: {available})"
        )
    if spec.baseline_metrics is None:
        return available
    missing = [m for m in spec.baseline_metrics if m not in available]
    if missing:
        raise RuntimeJobError(f"FG-A lacks the baseline_metrics {missing} (present: {available})")
    return list(spec.baseline_metrics)


def latest_snapshot(storage: Storage, prefix: str, month: str, pinned: str | None) -> str:
    months = {}
    for folder in storage.list_dirs(as_dir(prefix)):
        name = folder.rstrip("/").rsplit("/", 1)[-1]
        if name.startswith("snapshot_month="):
            months[name.partition("=")[2]] = folder
    if pinned is not None:
        if pinned not in months:
            raise RuntimeJobError(f"ip_machine_mapping.snapshot_month {pinned} not found under {as_dir(prefix)}")
        return months[pinned]
    eligible = sorted(m for m in months if m <= month)
    if not eligible:
        raise RuntimeJobError(
            f"no IP-to-machine snapshot under {as_dir(prefix)} with snapshot_month <= {month} "
            f"(found: {sorted(months) or 'none'}); run machine_inventory_unload first"
        )
    return months[eligible[-1]]


def read_machine_mapping(spark: Any, storage: Storage, spec: FgBJobSpec, prefix: str, run: BaselineRun) -> DataFrame:
    """`host_ip -> machine_name` from the inventory snapshot; an IP listed with several names is left out."""
    mapping = spec.machine_mapping
    assert mapping is not None
    folder = latest_snapshot(storage, prefix, f"{run.reference:%Y-%m}", mapping.snapshot_month)
    snapshot = spark.read.parquet(spark_path(storage, folder))
    absent = [c for c in (mapping.ip_column, mapping.name_column) if c not in snapshot.columns]
    if absent:
        raise RuntimeJobError(f"IP-to-machine snapshot {folder} lacks the columns {absent} (has {snapshot.columns})")
    pairs = snapshot.select(
        F.trim(F.col(mapping.ip_column).cast("string")).alias("host_ip"),
        F.trim(F.col(mapping.name_column).cast("string")).alias("machine_name"),
    ).where(
        F.col("host_ip").isNotNull()
        & (F.col("host_ip") != "")
        & F.col("machine_name").isNotNull()
        & (F.col("machine_name") != "")
    )
    return (
        pairs.distinct()
        .groupBy("host_ip")
        .agg(F.count(F.lit(1)).alias("_names"), F.min("machine_name").alias("machine_name"))
        .where(F.col("_names") == 1)
        .drop("_names")
    )


def prepare_rows(
    frame: DataFrame, spec: FgBJobSpec, run: BaselineRun, metrics: list[str], segments: tuple[Any, ...]
) -> DataFrame:
    """History rows in range, required metrics present, one row per join-key tuple, with a resolved segment."""
    in_range = F.lit(False)
    for window in run.windows:
        in_range = in_range | window.contains(F.col("window_start_ts"))
    rows = frame.where(in_range & F.col("host_ip").isNotNull())
    for metric in spec.baseline_required_metrics:
        rows = rows.where(F.col(metric).isNotNull())
    missing_keys = [k for k in spec.join_keys if k not in frame.columns]
    if missing_keys:
        raise RuntimeJobError(f"FG-A lacks the join_keys {missing_keys}")
    order = [F.col("window_end_ts").desc_nulls_last()]
    if "mini_batch_id" in frame.columns:
        order.append(F.col("mini_batch_id").desc_nulls_last())
    # only the columns used below go through the de-duplication sort (FG-A rows are wide)
    used = [*spec.join_keys, "host_ip", "window_start_ts", "window_end_ts", "mini_batch_id", "segment", "is_vdi"]
    used += metrics
    rows = rows.select(*dict.fromkeys(c for c in used if c in frame.columns))
    if has_repeated_keys(rows, spec.join_keys):
        # the keys' hash leads the partitioning (it groups nothing differently): the window sort then compares
        # 64-bit prefixes instead of the keys' strings, which share long prefixes (IP addresses, window labels)
        latest = Window.partitionBy(F.xxhash64(*spec.join_keys), *spec.join_keys).orderBy(*order)
        rows = rows.withColumn("_copy", F.row_number().over(latest)).where(F.col("_copy") == 1)
    segment = F.col("segment").cast("string") if "segment" in frame.columns else F.lit(None).cast("string")
    if spec.segment_mapping is not None:
        named = [(s.name, s.cidrs) for s in segments]
        segment = F.coalesce(segment, first_cidr_match(F.col("host_ip"), named, spec.segment_mapping.default))
    vdi = F.coalesce(F.col("is_vdi").cast("boolean"), F.lit(False)) if "is_vdi" in frame.columns else F.lit(False)
    return rows.select(
        F.col("host_ip").cast("string").alias("host_ip"),
        "window_start_ts",
        segment.alias("segment"),
        (vdi if spec.use_vdi_flag else F.lit(False)).alias("is_vdi"),
        *[F.col(m).cast("double").alias(m) for m in metrics],
    )


def has_repeated_keys(rows: DataFrame, keys: Sequence[str]) -> bool:
    """Whether two rows may share the join keys (a rerun's copy). Equal keys have equal hashes, so as many
    distinct 64-bit key hashes as rows proves every key tuple unique, and the de-duplication sort (a shuffle
    of every row, a third of FG-B's time at 2,000 hosts) is skipped. A hash collision only costs the sort."""
    counted = rows.select(F.xxhash64(*keys).alias("_key")).agg(
        F.count(F.lit(1)).alias("rows"), F.countDistinct("_key").alias("keys")
    )
    found = counted.collect()[0]
    return bool(found["rows"] != found["keys"])


def horizon_rows(rows: DataFrame, run: BaselineRun) -> DataFrame:
    """Each row once per horizon whose history window contains it (a 7d row also belongs to 30d)."""
    tags = F.array(*[F.when(w.contains(F.col("window_start_ts")), F.lit(w.name)) for w in run.windows])
    return rows.withColumn("baseline_horizon", F.explode(F.filter(tags, lambda h: h.isNotNull())))


def grouped_statistics(rows: DataFrame, keys: list[str], metrics: list[str], spec: FgBJobSpec) -> DataFrame:
    """One row per (keys, baseline_horizon, metric) with `baseline_support` (rows) and STAT_COLUMNS."""
    collected = rows.groupBy(*keys, "baseline_horizon").agg(
        F.count(F.lit(1)).alias("baseline_support"),
        *[F.collect_list(m).alias(f"_v{i}") for i, m in enumerate(metrics)],
    )
    per_metric = F.array(
        *[F.struct(F.lit(m).alias("metric"), F.col(f"_v{i}").alias("values")) for i, m in enumerate(metrics)]
    )
    long = collected.select(*keys, "baseline_horizon", "baseline_support", F.explode(per_metric).alias("_m"))
    long = long.select(*keys, "baseline_horizon", "baseline_support", "_m.metric", "_m.values")
    # cached: the bounds feed the second pass over the rows, and the result is joined with that pass's output
    ordered = with_order_statistics(long, spec.capping).cache()
    group = [*keys, "baseline_horizon"]
    moments = clamped_moments(rows, group, metrics, ordered.select(*group, "metric", "cap_low", "cap_high"))
    return ordered.join(moments, [*group, "metric"]).select(*group, "baseline_support", "metric", *STAT_COLUMNS)


def host_resolution(
    rows: DataFrame, mapping: DataFrame | None, spec: FgBJobSpec, segments: tuple[Any, ...]
) -> DataFrame:
    """One row per IP: its machine (if mapped), whether it is non-persistent, its latest segment."""
    latest = F.max(F.struct(F.col("window_start_ts"), F.col("segment"))).getField("segment")
    seen = rows.groupBy("host_ip").agg(latest.alias("segment"), F.max("is_vdi").alias("is_vdi"))
    if mapping is None:
        hosts = seen.withColumn("machine_name", F.lit(None).cast("string"))
    else:
        hosts = seen.join(mapping, "host_ip", "left")
        snapshot_only = mapping.join(seen.select("host_ip"), "host_ip", "left_anti")
        segment = F.lit(None).cast("string")
        if spec.segment_mapping is not None:
            named = [(s.name, s.cidrs) for s in segments]
            segment = first_cidr_match(F.col("host_ip"), named, spec.segment_mapping.default)
        hosts = hosts.unionByName(
            snapshot_only.select("host_ip", segment.alias("segment"), F.lit(False).alias("is_vdi"), "machine_name")
        )
    non_persistent = F.col("is_vdi") | starts_with_any(F.col("machine_name"), spec.non_persistent_prefixes)
    return hosts.select(
        "host_ip",
        "machine_name",
        "segment",
        non_persistent.alias("non_persistent"),
        F.when(F.col("machine_name").isNotNull(), F.lit("machine")).otherwise(F.lit("host")).alias("own_level"),
        F.coalesce(F.col("machine_name"), F.col("host_ip")).alias("own_key"),
    )


def build_baselines(
    rows: DataFrame,
    mapping: DataFrame | None,
    spec: FgBJobSpec,
    run: BaselineRun,
    metrics: list[str],
    segments: tuple[Any, ...],
) -> tuple[DataFrame, DataFrame]:
    """(host dataset, segment dataset) before the run columns are added."""
    # one row per IP (thousands): cached and broadcast, so tagging the history rows with it needs no shuffle
    hosts = host_resolution(rows, mapping, spec, segments).cache()
    owners = F.broadcast(hosts.select("host_ip", "own_level", "own_key", "non_persistent"))
    tagged = horizon_rows(rows, run).join(owners, "host_ip")
    own = grouped_statistics(
        tagged.where(~F.col("non_persistent"))
        .withColumnRenamed("own_level", "baseline_source")
        .withColumnRenamed("own_key", "baseline_key"),
        ["baseline_source", "baseline_key"],
        metrics,
        spec,
    )
    by_segment = grouped_statistics(tagged.where(F.col("segment").isNotNull()), ["segment"], metrics, spec)
    own.cache()
    by_segment.cache()
    support = own.select("baseline_source", "baseline_key", "baseline_horizon", "baseline_support").distinct()
    horizons = rows.sparkSession.createDataFrame([(h,) for h in spec.horizons], "baseline_horizon string")
    targets = hosts.crossJoin(horizons).join(
        support.withColumnRenamed("baseline_source", "own_level")
        .withColumnRenamed("baseline_key", "own_key")
        .withColumnRenamed("baseline_support", "own_support"),
        ["own_level", "own_key", "baseline_horizon"],
        "left",
    )
    uses_own = ~F.col("non_persistent") & (F.coalesce(F.col("own_support"), F.lit(0)) >= spec.support_min)
    targets = targets.select(
        "host_ip",
        "baseline_horizon",
        "machine_name",
        "segment",
        "non_persistent",
        F.coalesce(F.col("own_support"), F.lit(0)).cast("long").alias("own_support"),
        F.when(uses_own, F.col("own_level")).otherwise(F.lit("segment")).alias("baseline_source"),
        F.when(uses_own, F.col("own_key")).otherwise(F.col("segment")).alias("baseline_key"),
        (~uses_own & ~F.col("non_persistent")).alias("support_fallback"),
    ).where(F.col("baseline_key").isNotNull())
    stats = own.unionByName(
        by_segment.withColumn("baseline_source", F.lit("segment")).withColumnRenamed("segment", "baseline_key")
    )
    host = targets.join(stats, ["baseline_source", "baseline_key", "baseline_horizon"]).select(
        "host_ip",
        "baseline_horizon",
        "metric",
        "baseline_source",
        "baseline_key",
        "machine_name",
        "segment",
        "non_persistent",
        "support_fallback",
        "own_support",
        F.col("baseline_support").cast("long"),
        *STAT_COLUMNS,
    )
    segment = by_segment.select(
        "segment", "baseline_horizon", "metric", F.col("baseline_support").cast("long"), *STAT_COLUMNS
    )
    return host, segment


def with_run_columns(frame: DataFrame, run: BaselineRun) -> DataFrame:
    start = F.create_map(*[x for w in run.windows for x in (F.lit(w.name), F.lit(w.start.strftime(TS_FORMAT)))])
    end = F.create_map(*[x for w in run.windows for x in (F.lit(w.name), F.lit(w.end.strftime(TS_FORMAT)))])
    return frame.select(
        "*",
        F.lit(run.reference.strftime(TS_FORMAT)).cast("timestamp").alias("reference_ts"),
        start[F.col("baseline_horizon")].cast("timestamp").alias("history_start_ts"),
        end[F.col("baseline_horizon")].cast("timestamp").alias("history_end_ts"),
        F.lit(run.project_name).alias("project_name"),
        F.lit(run.feature_spec_version).alias("feature_spec_version"),
        F.lit(run.mini_batch_id).alias("mini_batch_id"),
        F.lit(run.dt).alias("dt"),
    )


def dataset_output(spec: FgBJobSpec, dataset: str) -> OutputSpec:
    out = spec.output
    return OutputSpec(join(out.s3_prefix, dataset) + "/", out.format, out.partition_keys, out.write_mode)


def run_fg_b_builder(
    spark: Any,
    spec: FgBJobSpec,
    storage: Storage,
    *,
    reference: datetime,
    feature_spec_version: str,
    machine_mapping_prefix: str | None = None,
) -> BuildResult:
    with packed_small_files(spark):
        return build(spark, spec, storage, reference, feature_spec_version, machine_mapping_prefix)


@contextmanager
def packed_small_files(spark: Any) -> Iterator[None]:
    """FG-A is one small file per 15-minute batch (2,880 for 30 days). Spark charges each file an open cost of
    4 MB when packing files into input tasks, so 30 days ran as ~180 tasks of ~16 files; at 128 KB a task holds
    a few hundred files (a handful of tasks). Only the packing changes: the same files and rows are read. Set for
    the whole run because the scans are planned when an action runs; the session's value is restored."""
    previous = spark.conf.get(OPEN_COST, None)
    spark.conf.set(OPEN_COST, str(FGB_OPEN_COST_BYTES))
    try:
        yield
    finally:
        if previous is None:
            spark.conf.unset(OPEN_COST)
        else:
            spark.conf.set(OPEN_COST, previous)


def build(
    spark: Any,
    spec: FgBJobSpec,
    storage: Storage,
    reference: datetime,
    feature_spec_version: str,
    machine_mapping_prefix: str | None,
) -> BuildResult:
    run = plan_run(spec, reference, feature_spec_version)
    history = read_fg_a_history(spark, storage, spec, run)
    metrics = choose_metrics(history, spec)
    if not metrics:
        raise RuntimeJobError(f"FG-A under {spec.fg_a_prefix} has no numeric <metric>_w_<size> columns")
    segments = load_segments(storage, spec.segment_mapping) if spec.segment_mapping else ()
    rows = prepare_rows(history, spec, run, metrics, segments).cache()
    mapping = None
    if spec.machine_mapping is not None:
        if not machine_mapping_prefix:
            raise RuntimeJobError("ip_machine_mapping is set but no snapshot prefix was resolved")
        mapping = read_machine_mapping(spark, storage, spec, machine_mapping_prefix, run)
    host, segment = build_baselines(rows, mapping, spec, run, metrics, segments)
    host_out, segment_out = dataset_output(spec, HOST_DATASET), dataset_output(spec, SEGMENT_DATASET)
    keys = write_partitioned(with_run_columns(host, run), host_out, storage, JOB, run.mini_batch_id)
    write_partitioned(with_run_columns(segment, run), segment_out, storage, JOB, run.mini_batch_id)
    pair_partitions = None
    if spec.pair_counts_prefix is not None:
        first, last = run.days()
        pair_rows, pair_partitions = read_pair_history(
            spark, storage, spec.pair_counts_prefix, run.feature_spec_version, first, last
        )
        pairs = with_run_columns(pair_baseline(pair_rows, run.windows, spark), run)
        write_partitioned(pairs, dataset_output(spec, PAIR_DATASET), storage, JOB, run.mini_batch_id)
    counts = (
        host.groupBy("baseline_horizon", "baseline_source").agg(F.countDistinct("host_ip").alias("hosts")).collect()
    )
    metrics_doc: dict[str, Any] = {
        "job": JOB,
        "project_name": run.project_name,
        "feature_spec_version": run.feature_spec_version,
        "mini_batch_id": run.mini_batch_id,
        "reference_ts_iso": run.reference.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "history_rows": rows.count(),
        "metrics": metrics,
        "horizons": {w.name: {"start": w.start.isoformat() + "Z", "end": w.end.isoformat() + "Z"} for w in run.windows},
        "hosts_by_source": {f"{r['baseline_horizon']}/{r['baseline_source']}": r["hosts"] for r in counts},
    }
    if pair_partitions is not None:
        metrics_doc["pair_counts_partitions_read"] = pair_partitions
    rows.unpersist()
    metrics_uri = write_metrics(storage, spec.output.s3_prefix, JOB, run.mini_batch_id, metrics_doc)
    log("fg_b_built", output=spec.output.s3_prefix, reference=metrics_doc["reference_ts_iso"])
    return BuildResult(spec.output.s3_prefix, keys, metrics_doc, metrics_uri)
