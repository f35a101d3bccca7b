"""Robust statistics of one metric's history, as Spark column expressions over a sorted array.

Each group's values are collected once (`collect_list`) and sorted (`sort_array`); every statistic is
then read off the sorted array, so one shuffle serves all of them. Winsorizing is monotone, so the
clipped values keep the sorted order.

Percentiles use linear interpolation between closest ranks (numpy `linear`, DuckDB `quantile_cont`,
Spark `percentile`): for n sorted values s[0..n-1] and p in [0, 1], pos = p·(n-1),
Q(p) = s[⌊pos⌋] + (pos - ⌊pos⌋)·(s[⌈pos⌉] - s[⌊pos⌋]).
MAD = Q_{|s - median|}(0.5) (unscaled); std is the sample standard deviation (n - 1), null for n = 1.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from runtime.features.fg_b import MAD_SCALE
from runtime.jobs.fg_b_builder.spec import CappingSpec

QUANTILES: tuple[tuple[str, float], ...] = (("p05", 0.05), ("p25", 0.25), ("p75", 0.75), ("p95", 0.95))
STAT_COLUMNS: tuple[str, ...] = (
    "support_count",
    "median",
    "mad",
    "p05",
    "p25",
    "p75",
    "p95",
    "mean",
    "std",
    "min",
    "max",
    "cap_low",
    "cap_high",
)


Clamp = Callable[[Column], Column]


def unclamped(x: Column) -> Column:
    return x


def quantile(sorted_values: Column, p: float, clamp: Clamp = unclamped) -> Column:
    """Q(p) of `clamp` applied to every element; a monotone clamp keeps the order, so only two elements are read."""
    n = F.size(sorted_values)
    pos = (n - 1).cast("double") * F.lit(p)
    low = F.floor(pos)
    lo_value = clamp(F.element_at(sorted_values, (low + 1).cast("int")))
    hi_value = clamp(F.element_at(sorted_values, (F.ceil(pos) + 1).cast("int")))
    return F.when(n > 0, lo_value + (pos - low) * (hi_value - lo_value))


def mean(values: Column, clamp: Clamp = unclamped) -> Column:
    n = F.size(values)
    return F.when(n > 0, F.aggregate(values, F.lit(0.0), lambda acc, x: acc + clamp(x)) / n)


def sample_std(values: Column, center: Column, clamp: Clamp = unclamped) -> Column:
    n = F.size(values)
    squares = F.aggregate(values, F.lit(0.0), lambda acc, x: acc + (clamp(x) - center) * (clamp(x) - center))
    return F.when(n > 1, F.sqrt(squares / (n - 1)))


def sorted_deviations(sorted_values: Column, median: Column, clamp: Clamp = unclamped) -> Column:
    """|clamp(x) - median| of every element, sorted. The deviations are declared non-null (`coalesce`: an
    element is never null, and `median` is non-null whenever the array is not empty) so `sort_array` takes its
    primitive `double[]` sort; a nullable element type makes it sort boxed values with a comparator."""
    return F.sort_array(F.transform(sorted_values, lambda x: F.coalesce(F.abs(clamp(x) - median), F.lit(0.0))))


def mad(sorted_values: Column, median: Column, clamp: Clamp = unclamped) -> Column:
    return quantile(sorted_deviations(sorted_values, median, clamp), 0.5)


ORDER_COLUMNS: tuple[str, ...] = tuple(c for c in STAT_COLUMNS if c not in ("mean", "std"))


def with_order_statistics(frame: DataFrame, capping: CappingSpec) -> DataFrame:
    """Adds ORDER_COLUMNS (every statistic but mean and std) from the `metric` name and the unsorted `values`
    array of each row.

    Staged projections, so each intermediate (sorted array, median) is computed once per row. The winsorized
    array is never built: clamping is monotone, so every order statistic of the clamped values is read off the
    sorted raw array with the clamp applied to the elements it touches (the same values, in the same order, as
    clamping first). `sort_array` (a native sort) rather than `array_sort`, whose default comparator is an
    interpreted lambda; the values are never null, so the two give the same order. The mean and std of the
    clamped values need no order: `clamped_moments` computes them with Spark's own aggregates.
    """
    capped = F.lit(True) if capping.metrics is None else F.col("metric").isin(list(capping.metrics))
    frame = frame.withColumn("_raw", F.sort_array("values"))
    raw = F.col("_raw")
    if capping.method == "quantile":
        low = quantile(raw, float(Decimal(1) - capping.quantile))
        high = quantile(raw, float(capping.quantile))
    elif capping.method in ("zscore", "mad"):
        z_max = F.lit(float(capping.z_max))
        if capping.method == "zscore":
            frame = frame.withColumn("_c", mean(raw))
            frame = frame.withColumn("_spread", sample_std(raw, F.col("_c")))
        else:
            frame = frame.withColumn("_c", quantile(raw, 0.5))
            frame = frame.withColumn("_dev", sorted_deviations(raw, F.col("_c")))
            frame = frame.withColumn("_spread", F.lit(MAD_SCALE) * quantile(F.col("_dev"), 0.5))
        low = F.col("_c") - z_max * F.col("_spread")
        high = F.col("_c") + z_max * F.col("_spread")
    if capping.method != "none":
        frame = frame.withColumn("cap_low", F.when(capped, low)).withColumn("cap_high", F.when(capped, high))
    else:
        frame = frame.withColumn("cap_low", F.lit(None).cast("double")).withColumn(
            "cap_high", F.lit(None).cast("double")
        )

    def clamp(x: Column) -> Column:
        return clamped(x, F.col("cap_low"), F.col("cap_high"))

    frame = frame.withColumn("median", quantile(raw, 0.5, clamp))
    # its own projection: `quantile` reads the array four times, and the optimizer keeps a column that is
    # referenced several times rather than inlining (and recomputing) an expensive expression
    frame = frame.withColumn("_dev", sorted_deviations(raw, F.col("median"), clamp))
    frame = frame.select(
        "*",
        F.size(raw).cast("long").alias("support_count"),
        quantile(F.col("_dev"), 0.5).alias("mad"),
        *[quantile(raw, p, clamp).alias(name) for name, p in QUANTILES],
        clamp(F.element_at(raw, 1)).alias("min"),
        clamp(F.element_at(raw, -1)).alias("max"),
    )
    return frame.select(
        *[c for c in frame.columns if c not in ("_raw", "_dev", "_c", "_spread", "values", *STAT_COLUMNS)],
        *[F.col(c).cast("long" if c == "support_count" else "double").alias(c) for c in ORDER_COLUMNS],
    )


def clamped(x: Column, low: Column, high: Column) -> Column:
    # greatest/least skip nulls: without bounds the value is unchanged
    return F.least(F.greatest(x, low), high)


def clamped_moments(rows: DataFrame, group: list[str], metrics: list[str], bounds: DataFrame) -> DataFrame:
    """One row per (group, metric) with the `mean` and sample `std` of the metric's values clamped to the
    `cap_low`/`cap_high` of `bounds` (one row per group and metric).

    The bounds are pivoted to one row per group (thousands of rows) and broadcast onto the history rows, so the
    mean and std are Spark's own code-generated `avg`/`stddev_samp` (DuckDB's `avg`/`stddev_samp` in the
    reference) instead of interpreted lambdas over every array element. Null values are left out, as
    `collect_list` leaves them out of the arrays.
    """
    pivot = []
    for i, metric in enumerate(metrics):
        for bound in ("cap_low", "cap_high"):
            pivot.append(F.max(F.when(F.col("metric") == metric, F.col(bound))).alias(f"_{bound}{i}"))
    wide = bounds.groupBy(*group).agg(*pivot)
    joined = rows.join(F.broadcast(wide), group)
    moments = []
    for i, metric in enumerate(metrics):
        x = F.when(F.col(metric).isNotNull(), clamped(F.col(metric), F.col(f"_cap_low{i}"), F.col(f"_cap_high{i}")))
        moments += [F.avg(x).alias(f"_mean{i}"), F.stddev_samp(x).alias(f"_std{i}")]
    per_metric = F.array(
        *[
            F.struct(F.lit(m).alias("metric"), F.col(f"_mean{i}").alias("mean"), F.col(f"_std{i}").alias("std"))
            for i, m in enumerate(metrics)
        ]
    )
    return (
        joined.groupBy(*group)
        .agg(*moments)
        .select(*group, F.explode(per_metric).alias("_m"))
        .select(
            *group,
            "_m.metric",
            F.col("_m.mean").cast("double").alias("mean"),
            F.col("_m.std").cast("double").alias("std"),
        )
    )
