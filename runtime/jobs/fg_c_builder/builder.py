"""FG-C builder: deviations of one 15-minute batch of FG-A rows from their FG-B baselines.

Per row, metric m and horizon h (formulas in docs/runtime.md "FG-C"):
  z        = clip((x - median) / (1.4826·MAD + eps), -z_max, z_max)
  logratio = ln(1 + max(x, 0)) - ln(1 + max(median, 0))
  pctl     = position of x in the baseline's piecewise-linear quantile function (0..1)
The baseline is the host's row of FG-B `host/` (host, machine or segment source), else the row's segment
baseline from FG-B `segment/`, else none: then every feature of that horizon is null, never inf/NaN.
"""

from __future__ import annotations

from typing import Any

from pyspark.sql import Column, DataFrame, Observation
from pyspark.sql import functions as F

from runtime.batch import BatchContext
from runtime.errors import RuntimeJobError
from runtime.features.fg_a import IDENTITY_COLUMNS, metric_columns
from runtime.features.fg_b import HOST_DATASET, MAD_SCALE, PAIR_DATASET, SEGMENT_DATASET
from runtime.features.rare_pairs import PAIR_CONTEXT_METRICS, PAIR_COUNT_METRICS
from runtime.features.segments import load_segments
from runtime.jobs.fg_c_builder.rare_pairs import pair_context_metrics, pair_count_metrics, read_batch, with_rare_pairs
from runtime.jobs.fg_c_builder.spec import FgCJobSpec
from runtime.jsonlog import log
from runtime.spark_io.batch_columns import BuildResult
from runtime.spark_io.partitions import Partition, find_partitions, read_batch_partitions, read_partitions
from runtime.spark_io.writers import metric_row, write_metrics, write_partitioned
from runtime.sparkexpr import first_cidr_match
from runtime.storage import Storage, as_dir, join

JOB = "fg_c_builder"
PAIR_COUNT_INPUT = ("source_ip", "destination_ip", "destination_port", "event_count")
PAIR_CONTEXT_INPUT = ("host_ip", "pair_windows_30d", "sessions_cnt", "bytes_src_sum")
BASELINE_COLUMNS = ("median", "mad", "p05", "p25", "p75", "p95", "mean", "std", "min", "max")
KNOTS: tuple[tuple[str, float], ...] = (
    ("min", 0.0),
    ("p05", 0.05),
    ("p25", 0.25),
    ("median", 0.5),
    ("p75", 0.75),
    ("p95", 0.95),
    ("max", 1.0),
)


def fg_b_root(prefix: str) -> str:
    """FG-B's output prefix; `fg_b_input.s3_prefix` may name it or its `host/` dataset."""
    trimmed = prefix.rstrip("/")
    if trimmed.rsplit("/", 1)[-1] == HOST_DATASET:
        trimmed = trimmed.rsplit("/", 1)[0]
    return trimmed + "/"


def read_batch_rows(spark: Any, storage: Storage, spec: FgCJobSpec, batch: BatchContext) -> DataFrame:
    frame = read_batch_partitions(spark, storage, spec.fg_a_prefix, batch)
    if frame is None:
        raise RuntimeJobError(
            f"no FG-A rows for mini_batch_id={batch.mini_batch_id} dt={batch.dt} under {as_dir(spec.fg_a_prefix)}"
        )
    return frame


def latest_baselines(
    spark: Any, storage: Storage, prefix: str, spec: FgCJobSpec, batch: BatchContext
) -> DataFrame | None:
    """The newest FG-B day <= the batch's day, per horizon (None when FG-B has none yet)."""

    def accept(key: str, value: str) -> bool:
        if key == "feature_spec_version":
            return value == batch.feature_spec_version
        if key == "baseline_horizon":
            return value in spec.horizons
        if key == "dt":
            return value <= batch.dt
        return True

    found = find_partitions(storage, prefix, accept, stop_at="dt")
    newest: dict[str, str] = {}
    for partition in found:
        horizon = partition.values.get("baseline_horizon", "")
        newest[horizon] = max(newest.get(horizon, ""), partition.values["dt"])
    chosen: list[Partition] = [p for p in found if p.values["dt"] == newest[p.values.get("baseline_horizon", "")]]
    frame = read_partitions(spark, storage, prefix, chosen)
    if frame is None:
        return None
    if len(set(newest.values())) > 1 and "baseline_horizon" not in found[0].values:
        frame = frame.where(F.col("dt") == max(newest.values()))
    return frame.where(F.col("baseline_horizon").isin(list(spec.horizons)))


def choose_metrics(frame: DataFrame, spec: FgCJobSpec) -> list[str]:
    available = metric_columns(frame.dtypes)
    if spec.metrics is None:
        return available
    missing = [m for m in spec.metrics if m not in available]
    if missing:
        raise RuntimeJobError(f"FG-A lacks the metrics {missing} (numeric <metric>_w_<size> columns: {available})")
    return list(spec.metrics)


def robust_z(x: Column, spec: FgCJobSpec) -> Column:
    transform = spec.transform("robust_z")
    params = transform.params if transform else {"center": "median", "scale": "mad"}
    eps, z_max = F.lit(float(spec.eps)), F.lit(float(spec.z_max))
    center = F.col(params["center"])
    scale = F.lit(MAD_SCALE) * F.col("mad") if params["scale"] == "mad" else F.col("std")
    z = (x - center) / (scale + eps)
    return F.greatest(F.least(z, z_max), -z_max)


def log_ratio(x: Column) -> Column:
    return F.log1p(F.greatest(x, F.lit(0.0))) - F.log1p(F.greatest(F.col("median"), F.lit(0.0)))


def percentile_position(x: Column) -> Column:
    """(L + U) / 2 with U = sup{p: Q(p) <= x}, L = inf{p: Q(p) >= x}, Q the piecewise-linear quantile function
    through (min, 0), (p05, .05), (p25, .25), (median, .5), (p75, .75), (p95, .95), (max, 1)."""
    q = [F.col(name) for name, _ in KNOTS]
    p = [F.lit(value) for _, value in KNOTS]
    upper: Column = F.lit(1.0)  # no knot above x
    for j in range(len(KNOTS) - 1, -1, -1):  # the first knot above x wins: build from the top down
        below = F.lit(0.0) if j == 0 else p[j - 1] + (p[j] - p[j - 1]) * (x - q[j - 1]) / (q[j] - q[j - 1])
        upper = F.when(q[j] > x, below).otherwise(upper)
    lower: Column = F.lit(0.0)  # no knot below x
    for j in range(len(KNOTS)):  # the last knot below x wins: build from the bottom up
        above = F.lit(1.0) if j == len(KNOTS) - 1 else p[j] + (p[j + 1] - p[j]) * (x - q[j]) / (q[j + 1] - q[j])
        lower = F.when(q[j] < x, above).otherwise(lower)
    return (lower + upper) / 2


def feature_columns(x: Column, spec: FgCJobSpec) -> dict[str, Column]:
    """Suffix -> expression for one metric and horizon, given the joined baseline columns."""
    out: dict[str, Column] = {}
    for transform in spec.transforms:
        if transform.name == "robust_z":
            out["z"] = robust_z(x, spec)
        elif transform.name == "log_ratio":
            out["logratio"] = log_ratio(x)
        elif transform.name == "percentile":
            out["pctl"] = percentile_position(x)
        elif transform.name == "ratio_to_baseline":
            out["ratio"] = x / (F.greatest(F.col("median"), F.lit(0.0)) + F.lit(float(spec.eps)))
    if spec.transform("robust_z") is None:
        out["_z"] = robust_z(x, spec)  # feeds suspicion_score only
    has_baseline = F.col("median").isNotNull()
    return {name: F.when(has_baseline & x.isNotNull(), column).cast("double") for name, column in out.items()}


def build_features(
    rows: DataFrame,
    host: DataFrame | None,
    segment: DataFrame | None,
    spec: FgCJobSpec,
    metrics: list[str],
    segments: tuple[Any, ...],
) -> DataFrame:
    keys = list(dict.fromkeys([*IDENTITY_COLUMNS, *spec.join_keys]))
    missing = [k for k in keys if k not in rows.columns]
    if missing:
        raise RuntimeJobError(f"FG-A lacks the key columns {missing}")
    seg = F.col("segment").cast("string") if "segment" in rows.columns else F.lit(None).cast("string")
    if spec.segment_mapping is not None:
        named = [(s.name, s.cidrs) for s in segments]
        seg = F.coalesce(seg, first_cidr_match(F.col("host_ip"), named, spec.segment_mapping.default))
    horizons = F.array(*[F.lit(h) for h in spec.horizons])
    pairs = F.array(*[F.struct(F.lit(m).alias("metric"), F.col(m).cast("double").alias("x")) for m in metrics])
    long = rows.select(*keys, seg.alias("_segment"), F.explode(pairs).alias("_p")).select(
        *keys, "_segment", "_p.metric", "_p.x", F.explode(horizons).alias("baseline_horizon")
    )
    stats = [*BASELINE_COLUMNS]
    if host is not None:
        by_host = host.select(
            "host_ip", "baseline_horizon", "metric", "baseline_source", *[F.col(c).alias(f"_h_{c}") for c in stats]
        )
        long = long.join(by_host, ["host_ip", "baseline_horizon", "metric"], "left")
    else:
        long = long.withColumn("baseline_source", F.lit(None).cast("string"))
        for c in stats:
            long = long.withColumn(f"_h_{c}", F.lit(None).cast("double"))
    if segment is not None:
        by_segment = segment.select(
            F.col("segment").alias("_segment"),
            "baseline_horizon",
            "metric",
            *[F.col(c).alias(f"_s_{c}") for c in stats],
        )
        long = long.join(by_segment, ["_segment", "baseline_horizon", "metric"], "left")
    else:
        for c in stats:
            long = long.withColumn(f"_s_{c}", F.lit(None).cast("double"))
    use_host = F.col("baseline_source").isNotNull()
    use_segment = ~use_host & F.col("_s_median").isNotNull()
    long = long.select(
        *keys,
        "metric",
        "x",
        "baseline_horizon",
        F.when(use_host, F.col("baseline_source")).when(use_segment, F.lit("segment")).alias("source"),
        *[F.when(use_host, F.col(f"_h_{c}")).otherwise(F.col(f"_s_{c}")).alias(c) for c in stats],
    )
    features = feature_columns(F.col("x"), spec)
    long = long.select(*keys, "metric", "baseline_horizon", "source", *[c.alias(n) for n, c in features.items()])
    aggregates: list[Column] = []
    names: list[str] = []
    for metric in metrics:
        for suffix in [n for n in features if not n.startswith("_")]:
            for horizon in spec.horizons:
                pick = (F.col("metric") == metric) & (F.col("baseline_horizon") == horizon)
                name = f"{metric}_{suffix}_{horizon}"
                aggregates.append(F.max(F.when(pick, F.col(suffix))).alias(name))
                names.append(name)
    suspicion = list(spec.suspicion_metrics) if spec.suspicion_metrics is not None else metrics
    z_name = "z" if "z" in features else "_z"
    for horizon in spec.horizons:
        aggregates.append(
            F.max(F.when(F.col("baseline_horizon") == horizon, F.col("source"))).alias(f"baseline_source_{horizon}")
        )
        picked = F.col("metric").isin(suspicion) & (F.col("baseline_horizon") == horizon)
        top = F.max(F.when(picked, F.col(z_name)))
        aggregates.append(F.when(top.isNotNull(), F.greatest(top, F.lit(0.0))).alias(f"suspicion_score_{horizon}"))
    wide = long.groupBy(*keys).agg(*aggregates)
    if spec.transform("log1p") is not None:
        log1p = rows.select(
            *keys, *[F.log1p(F.greatest(F.col(m).cast("double"), F.lit(0.0))).alias(f"{m}_log1p") for m in metrics]
        )
        wide = wide.join(log1p, keys)
    return wide


def add_rare_pairs(
    spark: Any, storage: Storage, spec: FgCJobSpec, batch: BatchContext, root: str, features: DataFrame
) -> DataFrame:
    names = spec.rare_pair_metrics
    by_counts, has_baseline = None, {h: False for h in spec.horizons}
    if spec.pair_counts_prefix is not None and any(n in PAIR_COUNT_METRICS for n in names):
        pairs = read_batch(spark, storage, spec.pair_counts_prefix, batch, PAIR_COUNT_INPUT)
        baseline = latest_baselines(spark, storage, join(root, PAIR_DATASET) + "/", spec, batch)
        by_counts, has_baseline = pair_count_metrics(pairs, baseline, spec.horizons, names)
    by_context = None
    if spec.pair_context_prefix is not None and any(n in PAIR_CONTEXT_METRICS for n in names):
        context = read_batch(spark, storage, spec.pair_context_prefix, batch, PAIR_CONTEXT_INPUT)
        by_context = pair_context_metrics(context, names)
    return with_rare_pairs(features, by_counts, has_baseline, by_context, names, spec.horizons)


def output_counts(spec: FgCJobSpec) -> dict[str, Column]:
    """Rows written and, per horizon, rows without a baseline: observed during the write (no second pass)."""
    return {
        "rows_out": F.count(F.lit(1)),
        **{f"no_baseline_{h}": F.sum(F.col(f"baseline_source_{h}").isNull().cast("long")) for h in spec.horizons},
    }


def run_fg_c_builder(spark: Any, spec: FgCJobSpec, batch: BatchContext, storage: Storage) -> BuildResult:
    rows = read_batch_rows(spark, storage, spec, batch)
    metrics = choose_metrics(rows, spec)
    if spec.suspicion_metrics is not None:
        outside = [m for m in spec.suspicion_metrics if m not in metrics]
        if outside:
            raise RuntimeJobError(f"suspicion_metrics {outside} are not among the metrics {metrics}")
    root = fg_b_root(spec.fg_b_prefix)
    host = latest_baselines(spark, storage, join(root, HOST_DATASET) + "/", spec, batch)
    segment = latest_baselines(spark, storage, join(root, SEGMENT_DATASET) + "/", spec, batch)
    if host is None and segment is None:
        log("fg_c_no_baselines", fg_b=root, dt=batch.dt)
    segments = load_segments(storage, spec.segment_mapping) if spec.segment_mapping else ()
    features = build_features(rows, host, segment, spec, metrics, segments)
    if spec.rare_pair_metrics:
        features = add_rare_pairs(spark, storage, spec, batch, root, features)
    counted = output_counts(spec)
    written = Observation(f"fg_c_rows_{batch.mini_batch_id}")
    features = features.observe(written, *[column.alias(name) for name, column in counted.items()])
    keys = write_partitioned(features, spec.output, storage, JOB, batch.mini_batch_id)
    counts = metric_row(written.get, list(counted))
    metrics_doc: dict[str, Any] = {
        **batch.metrics_header(JOB),
        "metrics": metrics,
        "horizons": list(spec.horizons),
        "fg_b_root": root,
        **counts,
    }
    metrics_uri = write_metrics(storage, spec.output.s3_prefix, JOB, batch.mini_batch_id, metrics_doc)
    log("fg_c_built", output=spec.output.s3_prefix, rows=metrics_doc["rows_out"])
    return BuildResult(spec.output.s3_prefix, keys, metrics_doc, metrics_uri)
