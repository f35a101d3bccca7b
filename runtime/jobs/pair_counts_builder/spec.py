"""The `pair_counts_builder` spec: traffic input, filters, optional segment mapping, output."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from runtime.config.output import OutputSpec
from runtime.config.payload import PayloadReader
from runtime.features.segments import SegmentMapping, read_segment_mapping

PAIR_REQUIRED_FIELDS: tuple[str, ...] = (
    "source_ip",
    "destination_ip",
    "destination_port",
    "event_start",
    "event_end",
)
LAYOUTS = ("batch_folder", "mini_batch_prefix")


@dataclass(frozen=True)
class TrafficInputSpec:
    s3_prefix: str
    field_mapping: Mapping[str, str]
    layout: str = "batch_folder"
    format: str = "json"
    compression: str = "gzip"


@dataclass(frozen=True)
class PairFilters:
    require_nonnull_ips: bool = True
    require_destination_port: bool = True


@dataclass(frozen=True)
class PairCountsJobSpec:
    project_name: str
    job_name: str
    feature_spec_version: str | None
    traffic_input: TrafficInputSpec
    output: OutputSpec
    filters: PairFilters = PairFilters()
    segment_mapping: SegmentMapping | None = None

    @classmethod
    def from_payload(
        cls, payload: Mapping[str, Any], where: str, *, project_name: str, job_name: str, version: str | None
    ) -> PairCountsJobSpec:
        r = PayloadReader(payload, where)
        mapping = r.string_map("traffic_input.field_mapping")
        missing = [name for name in PAIR_REQUIRED_FIELDS if name not in mapping]
        if missing:
            raise r.fail("traffic_input.field_mapping", f"is missing required keys {missing}")
        layout = r.string("traffic_input.layout", "batch_folder")
        if layout not in LAYOUTS:
            raise r.fail("traffic_input.layout", f"must be one of {', '.join(LAYOUTS)} (got {layout!r})")
        fmt = r.string("traffic_input.format", "json").lower()
        if fmt not in ("json", "parquet"):
            raise r.fail("traffic_input.format", f"must be json or parquet (got {fmt!r})")
        compression = r.string("traffic_input.compression", "gzip").lower()
        if compression not in ("gzip", "none"):
            raise r.fail("traffic_input.compression", f"must be gzip or none (got {compression!r})")
        return cls(
            project_name=r.string("project_name", project_name),
            job_name=job_name,
            feature_spec_version=r.string("feature_spec_version", version),
            traffic_input=TrafficInputSpec(r.string("traffic_input.s3_prefix"), mapping, layout, fmt, compression),
            output=OutputSpec.read(r, "pair_counts_output"),
            filters=PairFilters(
                r.boolean("filters.require_nonnull_ips", True),
                r.boolean("filters.require_destination_port", True),
            ),
            segment_mapping=read_segment_mapping(r, "segment_mapping"),
        )
