"""DynamoDB JSON: typed attribute values, the item line BatchWriteItem/ImportTable accept, and the item size
DynamoDB charges against its 400 KB limit."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

MAX_ITEM_BYTES = 400 * 1024


def number_text(value: Decimal | int) -> str:
    """Exact number text: the literal as written when known (`1e-6` stays `1e-6`)."""
    if isinstance(value, int):
        return str(value)
    literal = getattr(value, "literal", None)
    return literal if literal is not None else str(value)


def to_attribute(value: Any) -> dict[str, Any]:
    """One Python value as a typed DynamoDB attribute value."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, int | Decimal):
        return {"N": number_text(value)}
    if isinstance(value, float):
        raise TypeError("floats are not exact; the loader produces Decimal numbers")
    if isinstance(value, dict):
        return {"M": {str(k): to_attribute(v) for k, v in value.items()}}
    if isinstance(value, list | tuple):
        return {"L": [to_attribute(v) for v in value]}
    raise TypeError(f"cannot store a {type(value).__name__} in DynamoDB")


def to_item(item: dict[str, Any]) -> dict[str, Any]:
    return {key: to_attribute(value) for key, value in item.items()}


def item_line(item: dict[str, Any]) -> str:
    """`{"Item": to_item(item)}` as compact JSON with sorted keys, non-ASCII kept, written directly (no
    intermediate dicts: this runs once per spec file). Same bytes as `json.dumps(..., sort_keys=True,
    ensure_ascii=False, separators=(",", ":"))`; a test compares them on generated items."""
    fields = ",".join(f"{_json_string(key)}:{_attribute_json(value)}" for key, value in sorted(item.items()))
    return '{"Item":{' + fields + "}}"


_json_string = json.encoder.encode_basestring  # type: ignore[attr-defined]


def _attribute_json(value: Any) -> str:
    kind = type(value)  # exact types first: this runs on every value of every item
    if kind is str:
        return '{"S":' + _json_string(value) + "}"
    if kind is dict and all(type(key) is str for key in value):
        return (
            '{"M":{'
            + ",".join(_json_string(key) + ":" + _attribute_json(child) for key, child in sorted(value.items()))
            + "}}"
        )
    if kind is list:
        return '{"L":[' + ",".join(_attribute_json(child) for child in value) + "]}"
    if isinstance(value, str):
        return '{"S":' + _json_string(value) + "}"
    if value is None:
        return '{"NULL":true}'
    if isinstance(value, bool):
        return '{"BOOL":true}' if value else '{"BOOL":false}'
    if isinstance(value, int | Decimal):
        return '{"N":' + _json_string(number_text(value)) + "}"
    if isinstance(value, dict):
        entries = sorted({str(key): child for key, child in value.items()}.items())
        return '{"M":{' + ",".join(f"{_json_string(key)}:{_attribute_json(child)}" for key, child in entries) + "}}"
    if isinstance(value, list | tuple):
        return '{"L":[' + ",".join(_attribute_json(child) for child in value) + "]}"
    to_attribute(value)  # raises the TypeError a value DynamoDB cannot store gets
    raise AssertionError("unreachable")


def _value_size(value: Any) -> int:
    if value is None or isinstance(value, bool):
        return 1
    if isinstance(value, str):
        return len(value.encode("utf-8"))
    if isinstance(value, int | Decimal):
        digits = len(number_text(value).lstrip("-").replace(".", "").lstrip("0")) or 1
        return (digits + 1) // 2 + 1
    if isinstance(value, dict):
        return 3 + sum(len(str(k).encode("utf-8")) + _value_size(v) + 1 for k, v in value.items())
    if isinstance(value, list | tuple):
        return 3 + sum(_value_size(v) + 1 for v in value)
    return 0


def item_size(item: dict[str, Any]) -> int:
    """DynamoDB's item size (attribute names + values, UTF-8), as its documentation computes it."""
    return sum(len(key.encode("utf-8")) + _value_size(value) for key, value in item.items())
