"""The `fg_c_builder` spec: FG-A and FG-B inputs, metrics, horizons, eps/z_max, transforms, suspicion list."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from runtime.config.output import OutputSpec
from runtime.config.payload import PayloadReader
from runtime.features.horizons import read_horizons
from runtime.features.rare_pairs import PAIR_CONTEXT_METRICS, PAIR_COUNT_METRICS, RARE_PAIR_METRICS
from runtime.features.segments import SegmentMapping, read_segment_mapping

DEFAULT_JOIN_KEYS: tuple[str, ...] = ("host_ip", "window_label")
DEFAULT_EPS = Decimal("1e-6")
DEFAULT_Z_MAX = Decimal("6")
CENTERS = ("median", "mean")
SCALES = ("mad", "std")


@dataclass(frozen=True)
class Transform:
    """One feature family. `robust_z` params: center (median|mean), scale (mad|std)."""

    name: str
    params: Mapping[str, str]


DEFAULT_TRANSFORMS: tuple[Transform, ...] = (
    Transform("robust_z", {"center": "median", "scale": "mad"}),
    Transform("log_ratio", {}),
    Transform("percentile", {}),
)
TRANSFORM_NAMES = ("robust_z", "log_ratio", "percentile", "ratio_to_baseline", "log1p")


@dataclass(frozen=True)
class FgCJobSpec:
    project_name: str
    job_name: str
    feature_spec_version: str | None
    fg_a_prefix: str
    fg_b_prefix: str
    output: OutputSpec
    horizons: tuple[str, ...]
    join_keys: tuple[str, ...] = DEFAULT_JOIN_KEYS
    metrics: tuple[str, ...] | None = None
    eps: Decimal = DEFAULT_EPS
    z_max: Decimal = DEFAULT_Z_MAX
    transforms: tuple[Transform, ...] = DEFAULT_TRANSFORMS
    suspicion_metrics: tuple[str, ...] | None = None
    segment_mapping: SegmentMapping | None = None
    pair_counts_prefix: str | None = None
    pair_context_prefix: str | None = None
    rare_pair_metrics: tuple[str, ...] = ()

    def transform(self, name: str) -> Transform | None:
        return next((t for t in self.transforms if t.name == name), None)

    @classmethod
    def from_payload(
        cls, payload: Mapping[str, Any], where: str, *, project_name: str, job_name: str, version: str | None
    ) -> FgCJobSpec:
        r = PayloadReader(payload, where)
        join_keys = r.strings("join_keys", DEFAULT_JOIN_KEYS)
        if "host_ip" not in join_keys:
            raise r.fail("join_keys", f"must include host_ip (got {list(join_keys)})")
        eps = r.number("eps", DEFAULT_EPS)
        z_max = r.number("z_max", DEFAULT_Z_MAX)
        assert eps is not None and z_max is not None
        if eps <= 0:
            raise r.fail("eps", f"must be greater than 0 (got {eps})")
        if z_max <= 0:
            raise r.fail("z_max", f"must be greater than 0 (got {z_max})")
        metrics = r.strings("metrics", None)
        suspicion = r.strings("suspicion_metrics", None)
        if suspicion is not None and metrics is not None:
            outside = [m for m in suspicion if m not in metrics]
            if outside:
                raise r.fail("suspicion_metrics", f"must be among spec.metrics (not listed there: {outside})")
        pair_counts = r.string("pair_counts.s3_prefix", None)
        pair_context = r.string("pair_context_input.s3_prefix", None)
        rare = _rare_pair_metrics(r, pair_counts, pair_context)
        return cls(
            project_name=project_name,
            job_name=job_name,
            feature_spec_version=version,
            fg_a_prefix=r.first_string("fg_a_input.s3_prefix", "fg_a_s3_prefix"),
            fg_b_prefix=r.first_string("fg_b_input.s3_prefix", "fg_b_s3_prefix"),
            output=OutputSpec.read(r, "fg_c_output"),
            horizons=read_horizons(r),
            join_keys=tuple(join_keys),
            metrics=metrics,
            eps=eps,
            z_max=z_max,
            transforms=_transforms(r),
            suspicion_metrics=suspicion,
            segment_mapping=read_segment_mapping(r, "segment_mapping"),
            pair_counts_prefix=pair_counts,
            pair_context_prefix=pair_context,
            rare_pair_metrics=rare,
        )


def _rare_pair_metrics(r: PayloadReader, pair_counts: str | None, pair_context: str | None) -> tuple[str, ...]:
    """The listed rare-pair metrics, else every metric whose source is configured."""
    available = (PAIR_COUNT_METRICS if pair_counts else ()) + (PAIR_CONTEXT_METRICS if pair_context else ())
    listed = r.strings("rare_pair_metrics", None)
    if listed is None:
        return tuple(available)
    for name in listed:
        if name not in RARE_PAIR_METRICS:
            raise r.fail(
                "rare_pair_metrics", f"names an unknown metric {name!r} (known: {', '.join(RARE_PAIR_METRICS)})"
            )
        if name not in available:
            source = "pair_counts.s3_prefix" if name in PAIR_COUNT_METRICS else "pair_context_input.s3_prefix"
            raise r.fail("rare_pair_metrics", f"{name!r} needs {source}")
    if len(set(listed)) != len(listed):
        raise r.fail("rare_pair_metrics", f"must not repeat a metric (got {list(listed)})")
    return tuple(listed)


def _transforms(r: PayloadReader) -> tuple[Transform, ...]:
    raw = r.sequence("transforms", None)
    if raw is None:
        return DEFAULT_TRANSFORMS
    out: list[Transform] = []
    for index, entry in enumerate(raw):
        path = f"transforms[{index}]"
        if isinstance(entry, str):
            name, params = entry, {}
        elif isinstance(entry, Mapping) and isinstance(entry.get("name"), str):
            name, params = entry["name"], dict(entry.get("params") or {})
        else:
            raise r.fail(path, "must be a transform name or {name, params}")
        if name not in TRANSFORM_NAMES:
            raise r.fail(path, f"names an unknown transform {name!r} (known: {', '.join(TRANSFORM_NAMES)})")
        if any(t.name == name for t in out):
            raise r.fail(path, f"repeats the transform {name!r}")
        if name == "robust_z":
            unknown = sorted(set(params) - {"center", "scale"})
            if unknown:
                raise r.fail(f"{path}.params", f"has unknown keys {unknown} (robust_z takes center, scale)")
            center, scale = params.get("center", "median"), params.get("scale", "mad")
            if center not in CENTERS or scale not in SCALES:
                raise r.fail(f"{path}.params", f"center must be one of {CENTERS} and scale one of {SCALES}")
            params = {"center": center, "scale": scale}
        elif params:
            raise r.fail(f"{path}.params", f"{name} takes no params")
        out.append(Transform(name, params))
    if not out:
        raise r.fail("transforms", "must list at least one transform")
    return tuple(out)
