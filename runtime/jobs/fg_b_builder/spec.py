"""The `fg_b_builder` spec: FG-A input, horizons, gaps, capping, support, machine mapping, output."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from runtime.config.output import OutputSpec
from runtime.config.payload import PayloadReader
from runtime.features.horizons import DEFAULT_HORIZONS, parse_horizon, read_horizons
from runtime.features.segments import SegmentMapping, read_segment_mapping

DEFAULT_PARTITION_KEYS: tuple[str, ...] = ("feature_spec_version", "baseline_horizon", "dt")
DEFAULT_JOIN_KEYS: tuple[str, ...] = ("host_ip", "window_label")
CAPPING_METHODS = ("quantile", "zscore", "mad", "none")
DEFAULT_CAPPING_QUANTILE = Decimal("0.995")
DEFAULT_CAPPING_Z_MAX = Decimal("6")
DEFAULT_PROJECT_KEY = "ip_machine_mapping_s3_prefix"


@dataclass(frozen=True)
class CappingSpec:
    """Winsorizing before the statistics: values outside [low, high] of the entity's own history are clipped.

    quantile: [Q(1 - q), Q(q)]; zscore: mean ± z_max·std; mad: median ± z_max·1.4826·MAD.
    """

    method: str = "none"
    quantile: Decimal = DEFAULT_CAPPING_QUANTILE
    z_max: Decimal = DEFAULT_CAPPING_Z_MAX
    metrics: tuple[str, ...] | None = None

    def applies_to(self, metric: str) -> bool:
        return self.method != "none" and (self.metrics is None or metric in self.metrics)


@dataclass(frozen=True)
class MachineMappingSpec:
    """Where the inventory unload's IP -> machine snapshots are (`<prefix>snapshot_month=YYYY-MM/`)."""

    s3_prefix: str | None
    project_key: str
    ip_column: str = "ip_address"
    name_column: str = "machine_name"
    snapshot_month: str | None = None


@dataclass(frozen=True)
class FgBJobSpec:
    project_name: str
    job_name: str
    feature_spec_version: str | None
    fg_a_prefix: str
    output: OutputSpec
    horizons: tuple[str, ...] = DEFAULT_HORIZONS
    safety_gaps: Mapping[str, str] | None = None
    baseline_metrics: tuple[str, ...] | None = None
    baseline_required_metrics: tuple[str, ...] = ()
    support_min: int = 1
    capping: CappingSpec = CappingSpec()
    join_keys: tuple[str, ...] = DEFAULT_JOIN_KEYS
    segment_mapping: SegmentMapping | None = None
    machine_mapping: MachineMappingSpec | None = None
    non_persistent_prefixes: tuple[str, ...] = ()
    use_vdi_flag: bool = True
    pair_counts_prefix: str | None = None

    def horizon(self, name: str) -> timedelta:
        return parse_horizon(name)

    def gap(self, name: str) -> timedelta:
        gap = (self.safety_gaps or {}).get(name)
        return parse_horizon(gap) if gap else timedelta(0)

    @classmethod
    def from_payload(
        cls, payload: Mapping[str, Any], where: str, *, project_name: str, job_name: str, version: str | None
    ) -> FgBJobSpec:
        r = PayloadReader(payload, where)
        horizons = read_horizons(r)
        output = OutputSpec.read(r, "fg_b_output")
        if not r.has("fg_b_output.partition_keys"):
            output = OutputSpec(output.s3_prefix, output.format, DEFAULT_PARTITION_KEYS, output.write_mode)
        if "dt" not in output.partition_keys:
            raise r.fail("fg_b_output.partition_keys", "must include dt (FG-C picks the latest baseline day by it)")
        gaps = dict(r.string_map("safety_gaps", {}))
        for horizon, gap in gaps.items():
            if horizon not in horizons:
                raise r.fail(f"safety_gaps.{horizon}", f"names no horizon of {list(horizons)}")
            try:
                parse_horizon(gap)
            except ValueError as err:
                raise r.fail(f"safety_gaps.{horizon}", str(err)) from None
        join_keys = r.strings("join_keys", DEFAULT_JOIN_KEYS)
        if "host_ip" not in join_keys:
            raise r.fail("join_keys", f"must include host_ip (got {list(join_keys)})")
        support_min = r.raw("support_min", 1)
        if isinstance(support_min, Decimal) and support_min == int(support_min):
            support_min = int(support_min)
        if isinstance(support_min, bool) or not isinstance(support_min, int) or support_min < 1:
            raise r.fail("support_min", f"must be an integer of at least 1 (got {support_min!r})")
        prefixes = r.strings("non_persistent_machine_prefixes", ())
        prefixes += r.strings("enrichment.vdi_hostname_prefixes", ())
        return cls(
            project_name=project_name,
            job_name=job_name,
            feature_spec_version=version,
            fg_a_prefix=r.first_string("fg_a_input.s3_prefix", "fg_a_s3_prefix"),
            output=output,
            horizons=horizons,
            safety_gaps=gaps,
            baseline_metrics=r.strings("baseline_metrics", None),
            baseline_required_metrics=r.strings("baseline_required_metrics", ()),
            support_min=support_min,
            capping=_capping(r),
            join_keys=tuple(join_keys),
            segment_mapping=read_segment_mapping(r, "segment_mapping"),
            machine_mapping=_machine_mapping(r),
            non_persistent_prefixes=tuple(dict.fromkeys(prefixes)),
            use_vdi_flag=r.boolean("enrichment.use_fg_a_vdi_flag", True),
            pair_counts_prefix=r.string("pair_counts.s3_prefix", None),
        )


def _capping(r: PayloadReader) -> CappingSpec:
    if not r.has("anomaly_capping"):
        return CappingSpec()
    method = r.string("anomaly_capping.method", "quantile")
    if method not in CAPPING_METHODS:
        raise r.fail("anomaly_capping.method", f"must be one of {', '.join(CAPPING_METHODS)} (got {method!r})")
    quantile = r.number("anomaly_capping.quantile", DEFAULT_CAPPING_QUANTILE)
    z_max = r.number("anomaly_capping.z_max", DEFAULT_CAPPING_Z_MAX)
    assert quantile is not None and z_max is not None
    if not Decimal("0.5") < quantile <= 1:
        raise r.fail("anomaly_capping.quantile", f"must be in (0.5, 1] (got {quantile})")
    if z_max <= 0:
        raise r.fail("anomaly_capping.z_max", f"must be greater than 0 (got {z_max})")
    metrics = r.strings("anomaly_capping.metrics", None)
    return CappingSpec(method, quantile, z_max, metrics)


def _machine_mapping(r: PayloadReader) -> MachineMappingSpec | None:
    if not r.has("ip_machine_mapping"):
        return None
    explicit = r.string("ip_machine_mapping.s3_prefix", None)
    key = r.string("ip_machine_mapping.s3_prefix_key", DEFAULT_PROJECT_KEY)
    if explicit is None and key.startswith(("s3://", "s3a://")):
        explicit, key = key, DEFAULT_PROJECT_KEY  # the seed's "s3_prefix_key overrides the project prefix"
    month = r.string("ip_machine_mapping.snapshot_month", None)
    return MachineMappingSpec(
        s3_prefix=explicit,
        project_key=key,
        ip_column=r.string("ip_machine_mapping.ip_column", "ip_address"),
        name_column=r.string("ip_machine_mapping.name_column", "machine_name"),
        snapshot_month=month,
    )
