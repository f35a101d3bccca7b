"""Column expressions shared by the builders (no Python UDFs: everything stays in the JVM)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping

from pyspark.sql import Column
from pyspark.sql import functions as F

from runtime.ports import PortList

_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4_BODY = rf"({_OCTET}\.){{3}}{_OCTET}"
_H = "[0-9A-Fa-f]{1,4}"


def _ipv6_body() -> str:
    """Every form Python's `ipaddress.IPv6Address` accepts (scope ids `%eth0` aside).

    Eight groups, or `::` standing for at least one zero group between k leading and m trailing
    groups (k + m <= 7); an IPv4 tail counts as two groups (six groups before it, or k + m <= 5).
    """
    forms = [rf"({_H}:){{7}}{_H}", rf"({_H}:){{6}}{_IPV4_BODY}"]
    for k in range(8):
        left = rf"({_H}:){{{k - 1}}}{_H}" if k else ""
        right = rf"({_H}(:{_H}){{0,{6 - k}}})?" if k < 7 else ""
        forms.append(f"{left}::{right}")
        if k <= 5:
            forms.append(rf"{left}::({_H}:){{0,{5 - k}}}{_IPV4_BODY}")
    return "|".join(f"({form})" for form in forms)


# \A and \z, not ^ and $: Java's `$` also matches before a final newline ("10.1.0.5\n").
IPV4_PATTERN = rf"\A{_IPV4_BODY}\z"
IPV6_PATTERN = rf"\A({_ipv6_body()})\z"


def is_valid_ip(column: Column) -> Column:
    """True for a dotted-quad IPv4 or a full / `::`-compressed IPv6 address; False for null."""
    matched = F.when(column.contains(":"), column.rlike(IPV6_PATTERN)).otherwise(column.rlike(IPV4_PATTERN))
    return F.coalesce(matched, F.lit(False))


def ipv4_to_long(column: Column) -> Column:
    """The IPv4 address as a number (null when not a valid dotted quad)."""
    parts = F.split(column, r"\.")
    number = (
        parts.getItem(0).cast("long") * 16777216
        + parts.getItem(1).cast("long") * 65536
        + parts.getItem(2).cast("long") * 256
        + parts.getItem(3).cast("long")
    )
    return F.when(column.rlike(IPV4_PATTERN), number)


def in_cidrs(column: Column, cidrs: Iterable[str]) -> Column:
    number = ipv4_to_long(column)
    condition = F.lit(False)
    for cidr in cidrs:
        network = ipaddress.ip_network(cidr, strict=False)
        low, high = int(network.network_address), int(network.broadcast_address)
        condition = condition | number.between(low, high)
    return F.coalesce(condition, F.lit(False))


def port_in(column: Column, ports: PortList) -> Column:
    condition = column.isin(list(ports.singles)) if ports.singles else F.lit(False)
    for low, high in ports.ranges:
        condition = condition | column.between(low, high)
    return F.coalesce(condition, F.lit(False))


def first_match(column: Column, named: Mapping[str, PortList], default: str | None = None) -> Column:
    """The name of the first port list containing the port, else `default` (null by default)."""
    expression = F.lit(default).cast("string")
    for name, ports in reversed(list(named.items())):
        expression = F.when(port_in(column, ports), F.lit(name)).otherwise(expression)
    return expression


def first_cidr_match(column: Column, named: Iterable[tuple[str, tuple[str, ...]]], default: str) -> Column:
    expression = F.lit(default)
    for name, cidrs in reversed(list(named)):
        expression = F.when(in_cidrs(column, cidrs), F.lit(name)).otherwise(expression)
    return expression


def starts_with_any(column: Column, prefixes: Iterable[str]) -> Column:
    lowered = F.lower(column)
    condition = F.lit(False)
    for prefix in prefixes:
        condition = condition | lowered.startswith(prefix.lower())
    return F.coalesce(condition, F.lit(False))
