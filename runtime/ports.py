"""Port lists (`[443, "8000-8099"]`) as plain data: parsing and validation, no Spark."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from runtime.errors import SpecError


@dataclass(frozen=True)
class PortList:
    singles: tuple[int, ...]
    ranges: tuple[tuple[int, int], ...]


def parse_ports(items: Iterable[Any], where: str) -> PortList:
    singles: list[int] = []
    ranges: list[tuple[int, int]] = []
    for item in items:
        if isinstance(item, int) and not isinstance(item, bool) and 0 <= item <= 65535:
            singles.append(item)
            continue
        if isinstance(item, str):
            text = item.strip()
            if text.isdigit() and int(text) <= 65535:
                singles.append(int(text))
                continue
            low_text, sep, high_text = text.partition("-")
            if sep and low_text.isdigit() and high_text.isdigit():
                low, high = int(low_text), int(high_text)
                if low <= high <= 65535:
                    ranges.append((low, high))
                    continue
        raise SpecError(f"{where}: {item!r} is not a port (0-65535) or a 'lo-hi' range")
    return PortList(tuple(sorted(set(singles))), tuple(sorted(set(ranges))))


def parse_port_sets(document: Any, where: str) -> dict[str, PortList]:
    """`{"port_sets": {name: [ports]}}` or `{name: [ports]}`, order kept (first match wins)."""
    body = document.get("port_sets", document) if isinstance(document, Mapping) else None
    if not isinstance(body, Mapping) or not body:
        raise SpecError(f"{where}: expected a JSON object of port set name -> list of ports")
    sets: dict[str, PortList] = {}
    for name, items in body.items():
        if not isinstance(items, list):
            raise SpecError(f"{where}: port set {name!r} must be a list of ports")
        sets[str(name)] = parse_ports(items, f"{where}: port set {name!r}")
    return sets
