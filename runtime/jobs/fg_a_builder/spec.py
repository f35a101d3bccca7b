"""The `fg_a_builder` spec: delta input, FG-A output, horizons, segments and the optional extras."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from runtime.config.output import DEFAULT_PARTITION_KEYS, OutputSpec
from runtime.config.payload import PayloadReader
from runtime.features.segments import SegmentMapping, read_segment_mapping
from runtime.operator_catalog import DEFAULT_INTERNAL_CIDRS

HORIZON_MINUTES: dict[str, int] = {"15m": 15, "1h": 60, "8h": 480, "24h": 1440}
"""The trailing windows of the FG-A contract (`<metric>_w_<size>`), in order."""
DEFAULT_ROLES: tuple[str, ...] = ("outbound", "inbound")
LOOKBACK_DAYS = 30
DIMENSION_ALIASES: dict[str, str] = {"destination_port": "peer_port", "destination_ip": "peer_ip"}
"""Rare-threshold dimensions named from the flow's side (the seed's spelling) read the delta's peer columns."""
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class RareDimension:
    """One `lookback30d.rare_thresholds` entry: a value of `column` is rare for a host when the host used it
    in at most `threshold` of the 15-minute windows of the 30 days before this one."""

    name: str
    column: str
    threshold: float


@dataclass(frozen=True)
class Lookback:
    """`lookback30d`: where FG-A keeps each window's (host, dimension, value) history, and the thresholds."""

    output: OutputSpec
    dimensions: tuple[RareDimension, ...]


@dataclass(frozen=True)
class FgAJobSpec:
    project_name: str
    job_name: str
    feature_spec_version: str | None
    delta_prefix: str
    output: OutputSpec
    horizons: tuple[str, ...] = tuple(HORIZON_MINUTES)
    roles: tuple[str, ...] = DEFAULT_ROLES
    port_sets: tuple[str, ...] = ()
    internal_cidrs: tuple[str, ...] = DEFAULT_INTERNAL_CIDRS
    segment_mapping: SegmentMapping | None = None
    segment_default: str | None = None
    high_risk_segments: tuple[str, ...] = ()
    pair_context_output: OutputSpec | None = None
    pair_context_input: str | None = None
    lookback30d: Lookback | None = None

    @classmethod
    def from_payload(
        cls, payload: Mapping[str, Any], where: str, *, project_name: str, job_name: str, version: str | None
    ) -> FgAJobSpec:
        r = PayloadReader(payload, where)
        delta_prefix = r.first_string("delta_input.s3_prefix", "delta_s3_prefix")
        fmt = r.string("delta_input.format", "parquet").lower()
        if fmt != "parquet":
            raise r.fail("delta_input.format", f"must be parquet, what delta_builder writes (got {fmt!r})")
        output_prefix = r.first_string("fg_a_output.s3_prefix", "output_s3_prefix")
        output = OutputSpec.read(_with_prefix(r, "fg_a_output", output_prefix), "fg_a_output")
        horizons = r.strings("horizons", tuple(HORIZON_MINUTES))
        unknown = [h for h in horizons if h not in HORIZON_MINUTES]
        if unknown or len(set(horizons)) != len(horizons):
            raise r.fail(
                "horizons", f"must be distinct values among {', '.join(HORIZON_MINUTES)} (got {list(horizons)})"
            )
        mapping = read_segment_mapping(r, "segment_mapping")
        high_risk = r.strings("high_risk_segments", ())
        if high_risk and mapping is None:
            raise r.fail("high_risk_segments", "needs segment_mapping (which segment a peer is in)")
        roles = _names(r, "roles", DEFAULT_ROLES)
        port_sets = _names(r, "port_sets", ())
        pair_context = None
        if r.has("pair_context_output"):
            pair_context = OutputSpec.read(r, "pair_context_output")
        return cls(
            project_name=r.string("project_name", project_name),
            job_name=job_name,
            feature_spec_version=r.string("feature_spec_version", version),
            delta_prefix=delta_prefix,
            output=output,
            horizons=tuple(h for h in HORIZON_MINUTES if h in horizons),
            roles=roles,
            port_sets=port_sets,
            internal_cidrs=r.strings("internal_cidrs", DEFAULT_INTERNAL_CIDRS),
            segment_mapping=mapping,
            segment_default=r.string("segment_mapping.default", None),
            high_risk_segments=high_risk,
            pair_context_output=pair_context,
            pair_context_input=r.string("pair_context_input.s3_prefix", None),
            lookback30d=_lookback(r),
        )


def _lookback(r: PayloadReader) -> Lookback | None:
    if not r.has("lookback30d"):
        return None
    thresholds = r.mapping("lookback30d.rare_thresholds", {})
    if not r.has("lookback30d.s3_prefix"):
        raise r.fail("lookback30d.s3_prefix", "is required: FG-A keeps the 30-day (host, value) history there")
    dimensions = []
    for name, value in thresholds.items():
        path = f"lookback30d.rare_thresholds.{name}"
        if not isinstance(name, str) or not _NAME.match(name):
            raise r.fail(path, "must be a lower-case identifier [a-z][a-z0-9_]* (a delta column or alias)")
        number = value
        if isinstance(number, Decimal):
            number = float(number)
        if isinstance(number, bool) or not isinstance(number, int | float) or number < 0:
            raise r.fail(path, f"must be a number of at least 0 (got {value!r})")
        dimensions.append(RareDimension(name, DIMENSION_ALIASES.get(name, name), float(number)))
    columns = [d.column for d in dimensions]
    if len(set(columns)) != len(columns):
        raise r.fail("lookback30d.rare_thresholds", f"names the same delta column twice ({columns})")
    block = dict(r.mapping("lookback30d"))
    block.pop("rare_thresholds", None)
    output = OutputSpec.read(PayloadReader({"lookback30d": block}, r.where), "lookback30d")
    return Lookback(output, tuple(dimensions))


def _with_prefix(r: PayloadReader, path: str, prefix: str) -> PayloadReader:
    """The output block with its prefix filled from the flat `output_s3_prefix` spelling."""
    block = dict(r.mapping(path, {}))
    block["s3_prefix"] = prefix
    block.setdefault("partition_keys", list(DEFAULT_PARTITION_KEYS))
    return PayloadReader({**r.payload, path: block}, r.where)


def _names(r: PayloadReader, path: str, default: tuple[str, ...]) -> tuple[str, ...]:
    """Names that become parts of column names: lower-case identifiers, distinct."""
    names = r.strings(path, default)
    bad = [name for name in names if not _NAME.match(name)]
    if bad or len(set(names)) != len(names):
        raise r.fail(path, f"must be distinct lower-case identifiers [a-z][a-z0-9_]* (got {list(names)})")
    return tuple(names)
