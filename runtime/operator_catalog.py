"""The delta builder's operator catalog as plain data: operator name -> description and params schema.

This module must stay importable without pyspark: the compiler imports `OPERATOR_CATALOG` and
`validate_operators` to report unknown operator types and bad params at `ndrc validate` time, and
`runtime.jobs.delta_builder.operators` implements exactly these names on Spark (a test keeps the two in step).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from typing import Any

from jsonschema import Draft202012Validator

_PORT_ITEM: dict[str, Any] = {
    "oneOf": [
        {"type": "integer", "minimum": 0, "maximum": 65535},
        {"type": "string", "pattern": "^[0-9]{1,5}-[0-9]{1,5}$"},
    ]
}
_PORT_LIST: dict[str, Any] = {"type": "array", "items": _PORT_ITEM, "minItems": 1}


def _params(properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False, "properties": properties, **extra}


OPERATOR_CATALOG: dict[str, dict[str, Any]] = {
    "drop_self_traffic": {
        "description": "Drop rows whose host_ip equals peer_ip (loopback and self-talk).",
        "params": _params({}),
    },
    "filter_ports": {
        "description": "Keep rows whose peer_port is in `include` and not in `exclude` (ports or 'lo-hi').",
        "params": _params(
            {"include": _PORT_LIST, "exclude": _PORT_LIST},
            anyOf=[{"required": ["include"]}, {"required": ["exclude"]}],
        ),
    },
    "window_bucket": {
        "description": "Add window_start, window_end (timestamps) and window_label (ISO-8601 start) by "
        "flooring `time_column` to `minutes`-wide windows shifted by `offset_minutes`.",
        "params": _params(
            {
                "minutes": {"type": "integer", "enum": [1, 5, 10, 15, 20, 30, 60]},
                "offset_minutes": {"type": "integer", "minimum": 0, "maximum": 59},
                "time_column": {"enum": ["event_start", "event_end"]},
            }
        ),
    },
    "vdi_filter": {
        "description": "Keep only VDI or only non-VDI rows, judged on the host, the peer or either side.",
        "params": _params(
            {"keep": {"enum": ["vdi", "non_vdi"]}, "side": {"enum": ["host", "peer", "either"]}},
            required=["keep"],
        ),
    },
    "port_class": {
        "description": "Add peer_port_class: the first class in `classes` whose ports contain peer_port, "
        "else the IANA range (well_known < 1024, registered < 49152, dynamic), else `default_class`.",
        "params": _params(
            {
                "classes": {
                    "type": "array",
                    "items": _params(
                        {"name": {"type": "string", "minLength": 1}, "ports": _PORT_LIST},
                        required=["name", "ports"],
                    ),
                },
                "iana_fallback": {"type": "boolean"},
                "default_class": {"type": "string", "minLength": 1},
            }
        ),
    },
    "ip_scope": {
        "description": "Add host_is_internal and peer_is_internal: IPv4 address inside one of "
        "`internal_cidrs` (default RFC 1918 + loopback + link-local).",
        "params": _params({"internal_cidrs": {"type": "array", "items": {"type": "string"}, "minItems": 1}}),
    },
    "min_bytes": {
        "description": "Drop rows whose bytes_sent + bytes_recv is below `min_total_bytes`.",
        "params": _params({"min_total_bytes": {"type": "integer", "minimum": 0}}, required=["min_total_bytes"]),
    },
    "dedupe": {
        "description": "Drop duplicate rows, comparing `keys` (default: every column).",
        "params": _params({"keys": {"type": "array", "items": {"type": "string"}, "minItems": 1, "uniqueItems": True}}),
    },
}

DEFAULT_INTERNAL_CIDRS: tuple[str, ...] = (
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "127.0.0.0/8",
    "169.254.0.0/16",
)


def _port_problems(ports: Sequence[Any], where: str) -> list[str]:
    problems = []
    for item in ports:
        if isinstance(item, str) and "-" in item:
            low, high = (int(part) for part in item.split("-", 1))
            if not 0 <= low <= high <= 65535:
                problems.append(f"{where}: port range {item!r} must be lo-hi with 0 <= lo <= hi <= 65535")
    return problems


def _semantic_problems(name: str, params: Mapping[str, Any], where: str) -> list[str]:
    problems: list[str] = []
    for key in ("include", "exclude"):
        problems += _port_problems(params.get(key, []), f"{where}.{key}")
    for index, cls in enumerate(params.get("classes", [])):
        problems += _port_problems(cls.get("ports", []), f"{where}.classes[{index}].ports")
    for cidr in params.get("internal_cidrs", []):
        try:
            if ipaddress.ip_network(cidr, strict=False).version != 4:
                problems.append(f"{where}.internal_cidrs: {cidr!r} is not an IPv4 CIDR")
        except ValueError:
            problems.append(f"{where}.internal_cidrs: {cidr!r} is not a valid CIDR")
    return problems


def validate_operator(operator: Any, where: str = "operators[0]") -> list[str]:
    """Every problem of one `{type, params?}` entry, as readable messages (empty when valid)."""
    if not isinstance(operator, Mapping):
        return [f"{where}: must be a mapping with `type` and optional `params`"]
    unknown_keys = sorted(set(operator) - {"type", "params"})
    problems = [f"{where}: unknown key {key!r} (allowed: type, params)" for key in unknown_keys]
    name = operator.get("type")
    if name not in OPERATOR_CATALOG:
        known = ", ".join(sorted(OPERATOR_CATALOG))
        return [*problems, f"{where}.type: unknown operator type {name!r} (known: {known})"]
    params = operator.get("params") or {}
    validator = Draft202012Validator(OPERATOR_CATALOG[name]["params"])
    for error in sorted(validator.iter_errors(params), key=lambda e: list(e.absolute_path)):
        path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
        problems.append(f"{where}.params{path}: {error.message}")
    if not problems and isinstance(params, Mapping):
        problems += _semantic_problems(name, params, f"{where}.params")
    return problems


def validate_operators(operators: Any) -> list[str]:
    """Problems of a delta builder `operators` list (empty list when every entry is valid)."""
    if operators is None:
        return []
    if not isinstance(operators, list):
        return ["operators: must be a list of {type, params?} entries"]
    problems: list[str] = []
    for index, operator in enumerate(operators):
        problems += validate_operator(operator, f"operators[{index}]")
    return problems
