"""Segment mapping shared by pair counts, FG-A, FG-B and FG-C: the spec block and the resolved segment list.

`segment_mapping: {segments: [{name, cidrs}], location?: <JSON file holding {"segments": [...]}>,
default?: <name>}`: inline segments first, then the file's; the first segment whose CIDRs hold an IP names it.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from runtime.config.payload import PayloadReader
from runtime.errors import SpecError
from runtime.storage import Storage


@dataclass(frozen=True)
class Segment:
    name: str
    cidrs: tuple[str, ...]


@dataclass(frozen=True)
class SegmentMapping:
    """Inline `segments` and/or a JSON `location` holding `{"segments": [...]}`; first match wins."""

    segments: tuple[Segment, ...] = ()
    location: str | None = None
    default: str = "unmapped"


def read_segment_mapping(r: PayloadReader, path: str) -> SegmentMapping | None:
    if not r.has(path):
        return None
    segments = parse_segments(r.sequence(f"{path}.segments", []), r, f"{path}.segments")
    location = r.string(f"{path}.location", None)
    if not segments and not location:
        raise r.fail(path, "needs `segments` (list of {name, cidrs}) or a `location` JSON file")
    return SegmentMapping(segments, location, r.string(f"{path}.default", "unmapped"))


def parse_segments(raw: Any, r: PayloadReader, path: str) -> tuple[Segment, ...]:
    out = []
    for index, entry in enumerate(raw):
        sub = PayloadReader(entry if isinstance(entry, Mapping) else {}, f"{r.where}: {path}[{index}]")
        name = sub.string("name")
        cidrs = sub.strings("cidrs")
        for cidr in cidrs:
            try:
                if ipaddress.ip_network(cidr, strict=False).version != 4:
                    raise ValueError
            except ValueError:
                raise r.fail(f"{path}[{index}].cidrs", f"has {cidr!r}, not an IPv4 CIDR") from None
        out.append(Segment(name, cidrs))
    return tuple(out)


def load_segments(storage: Storage, mapping: SegmentMapping) -> tuple[Segment, ...]:
    """The inline segments, then those of the `location` file (read when the job runs)."""
    segments = list(mapping.segments)
    if mapping.location:
        try:
            document = json.loads(storage.read_bytes(mapping.location))
        except ValueError as err:
            raise SpecError(f"segment_mapping.location {mapping.location}: not valid JSON ({err})") from None
        reader = PayloadReader(document if isinstance(document, dict) else {}, f"segment file {mapping.location}")
        segments += parse_segments(reader.sequence("segments"), reader, "segments")
    return tuple(segments)
