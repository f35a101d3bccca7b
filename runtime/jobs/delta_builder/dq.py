"""Data-quality rules of the delta builder, each counted in one pass with a Spark Observation.

Every rule's violations are counted (enabled or not); an enabled rule drops its rows, and a
dropped row is charged to the first enabled rule it violates, in `RULE_ORDER`.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, Observation
from pyspark.sql import functions as F

from runtime.jobs.delta_builder.spec import DQSpec
from runtime.sparkexpr import is_valid_ip

RULE_ORDER: tuple[str, ...] = (
    "drop_malformed_ip",
    "filter_null_bytes_ports",
    "bytes_non_negative",
    "duration_non_negative",
)
REASON = "_dq_reason"


def violation(rule: str) -> Column:
    """True when a row breaks `rule` (never null)."""
    if rule == "drop_malformed_ip":
        return ~(is_valid_ip(F.col("source_ip")) & is_valid_ip(F.col("destination_ip")))
    if rule == "filter_null_bytes_ports":
        names = ("source_bytes", "destination_bytes", "source_port", "destination_port")
        condition = F.lit(False)
        for name in names:
            condition = condition | F.col(name).isNull()
        return condition
    if rule == "bytes_non_negative":
        negative = [F.coalesce(F.col(name) < 0, F.lit(False)) for name in ("source_bytes", "destination_bytes")]
        return negative[0] | negative[1]
    if rule == "duration_non_negative":
        return F.coalesce(F.col("event_end") < F.col("event_start"), F.lit(True))
    raise ValueError(f"unknown DQ rule {rule!r}")


@dataclass(frozen=True)
class DQStage:
    frame: DataFrame
    observation: Observation
    enabled: tuple[str, ...]


def apply_dq(frame: DataFrame, dq: DQSpec, name: str = "dq") -> DQStage:
    """Flag columns computed once per row, then the reason, the observed counts and the filter."""
    enabled = tuple(rule for rule in RULE_ORDER if getattr(dq, rule))
    flags = {rule: f"_dq_{rule}" for rule in RULE_ORDER}
    flagged = frame.select("*", *[violation(rule).alias(flags[rule]) for rule in RULE_ORDER])
    reason = F.lit(None).cast("string")
    for rule in reversed(enabled):
        reason = F.when(F.col(flags[rule]), F.lit(rule)).otherwise(reason)
    flagged = flagged.withColumn(REASON, reason)
    metrics = [F.count(F.lit(1)).alias("rows_in")]
    metrics += [F.sum(F.col(flags[rule]).cast("long")).alias(f"violations__{rule}") for rule in RULE_ORDER]
    metrics += [F.sum((F.col(REASON) == rule).cast("long")).alias(f"dropped__{rule}") for rule in enabled]
    metrics.append(F.sum(F.col(REASON).isNull().cast("long")).alias("rows_valid"))
    observation = Observation(name)
    observed = flagged.observe(observation, *metrics)
    kept = observed.filter(F.col(REASON).isNull()).drop(REASON, *flags.values())
    return DQStage(kept, observation, enabled)


def dq_report(values: dict[str, int | None], enabled: tuple[str, ...]) -> dict[str, object]:
    """Observation values regrouped: rows_in, rows_valid, violations per rule, dropped per rule."""
    count = {key: int(value or 0) for key, value in values.items()}
    return {
        "rows_in": count.get("rows_in", 0),
        "rows_valid": count.get("rows_valid", 0),
        "rules_enabled": list(enabled),
        "violations": {rule: count.get(f"violations__{rule}", 0) for rule in RULE_ORDER},
        "dropped": {rule: count.get(f"dropped__{rule}", 0) for rule in RULE_ORDER},
    }
