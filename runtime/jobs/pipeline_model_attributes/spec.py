"""The typed `pipeline_model_attributes` spec."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from runtime.config.payload import PayloadReader

GROUPS = ("feature_list", "feature_stats", "thresholds", "training_window", "lineage")


@dataclass(frozen=True)
class AttributesSpec:
    model_version: str
    output_s3_prefix: str
    artifacts_s3_prefix: str | None = None
    model_package_group_name: str | None = None
    scoring_s3_prefix: str | None = None
    score_column: str = "anomaly_score"
    score_percentiles: tuple[float, ...] = (50.0, 90.0, 95.0, 99.0)
    score_threshold_percentile: float | None = None
    include: tuple[str, ...] = GROUPS

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any], where: str) -> AttributesSpec:
        r = PayloadReader(payload, where)
        percentiles = r.sequence("attributes.score_percentiles", [50, 90, 95, 99])
        bad = [p for p in percentiles if isinstance(p, bool) or not isinstance(p, int | float) or not 0 <= p <= 100]
        if bad:
            raise r.fail("attributes.score_percentiles", f"must be numbers in [0, 100] (bad: {bad})")
        threshold = r.raw("attributes.score_threshold_percentile", None)
        if threshold is not None and (
            isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0 < threshold <= 100
        ):
            raise r.fail("attributes.score_threshold_percentile", f"must be in (0, 100] (got {threshold!r})")
        include = r.strings("attributes.include", GROUPS)
        unknown = sorted(set(include) - set(GROUPS))
        if unknown:
            raise r.fail("attributes.include", f"unknown groups {unknown} (choose from {', '.join(GROUPS)})")
        return cls(
            model_version=r.string("model.version"),
            output_s3_prefix=r.string("output.s3_prefix"),
            artifacts_s3_prefix=r.string("model.artifacts_s3_prefix", None),
            model_package_group_name=r.string("model.model_package_group_name", None),
            scoring_s3_prefix=r.string("scoring_input.s3_prefix", None),
            score_column=r.string("scoring_input.score_column", "anomaly_score"),
            score_percentiles=tuple(float(p) for p in percentiles),
            score_threshold_percentile=None if threshold is None else float(threshold),
            include=tuple(include),
        )
