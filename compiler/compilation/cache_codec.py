"""Per-file validation results as plain JSON data, and back: what the validation cache stores.

Nothing read back is executed or imported: every value is rebuilt from an explicit, tagged shape, and
anything that does not fit that shape raises `CacheFormatError` (the caller then ignores the cache).
Values are tagged so a user's map can never be mistaken for an encoded number:
`null`/`true`/`"text"` as themselves, `{"n": literal}` a YAML number (exact, as written), `{"d": text}` another
Decimal, `{"i": text}` an int, `{"m": {...}}` a mapping, `{"l": [...]}` a list.
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from compiler.diagnostics import Diagnostic, Location, Severity
from compiler.load.yamlload import Number
from compiler.model import JobItem, Route

if TYPE_CHECKING:
    from compiler.validation.validate import FileResult


class CacheFormatError(ValueError):
    """The stored data does not have the shape this ndrc writes."""


def encode_value(value: Any) -> Any:
    # Exact types first (this runs on every value of every validated file), then the general checks.
    kind = type(value)
    if kind is str or value is None or kind is bool:
        return value
    if kind is dict:
        return {"m": {str(key): encode_value(child) for key, child in value.items()}}
    if kind is Number:
        return {"n": value.literal}
    if kind is list:
        return {"l": [encode_value(child) for child in value]}
    if isinstance(value, bool | str):
        return value
    if isinstance(value, Number):
        return {"n": value.literal}
    if isinstance(value, Decimal):
        return {"d": str(value)}
    if isinstance(value, int):
        return {"i": str(value)}
    if isinstance(value, dict):
        return {"m": {str(key): encode_value(child) for key, child in value.items()}}
    if isinstance(value, list | tuple):
        return {"l": [encode_value(child) for child in value]}
    raise TypeError(f"a {type(value).__name__} is not cacheable")


def decode_value(data: Any) -> Any:
    # The two shapes of nearly every value first, by exact type (json.loads makes only exact types):
    # this runs on every value of every cached file when a build is made from the cache.
    kind = type(data)
    if kind is str or data is None or kind is bool:
        return data
    if kind is dict and len(data) == 1:
        inner = data.get("m")
        if type(inner) is dict:
            return {key: decode_value(child) for key, child in inner.items()}
        inner = data.get("l")
        if type(inner) is list:
            return [decode_value(child) for child in inner]
        inner = data.get("n")
        if type(inner) is str:
            try:
                return Number(inner)
            except InvalidOperation as problem:
                raise CacheFormatError(f"bad number {inner!r}") from problem
    return _decode_other(data)


def _decode_other(data: Any) -> Any:
    if data is None or isinstance(data, bool | str):
        return data
    if not isinstance(data, dict) or len(data) != 1:
        raise CacheFormatError("not an encoded value")
    ((tag, inner),) = data.items()
    try:
        if tag == "n" and isinstance(inner, str):
            return Number(inner)
        if tag == "d" and isinstance(inner, str):
            return Decimal(inner)
        if tag == "i" and isinstance(inner, str):
            return int(inner)
    except (InvalidOperation, ValueError) as problem:
        raise CacheFormatError(f"bad number {inner!r}") from problem
    if tag == "m" and isinstance(inner, dict):
        return {key: decode_value(child) for key, child in inner.items()}
    if tag == "l" and isinstance(inner, list):
        return [decode_value(child) for child in inner]
    raise CacheFormatError(f"unknown value tag {tag!r}")


def _text(data: Any) -> str:
    if not isinstance(data, str):
        raise CacheFormatError("expected a string")
    return data


def _optional_text(data: Any) -> str | None:
    return None if data is None else _text(data)


def _integer(data: Any) -> int:
    if not isinstance(data, int) or isinstance(data, bool):
        raise CacheFormatError("expected an integer")
    return data


def _encode_diagnostic(diagnostic: Diagnostic) -> list[Any]:
    location = diagnostic.location
    return [
        location.path,
        location.line,
        location.column,
        diagnostic.rule,
        diagnostic.message,
        diagnostic.severity.value,
    ]


def _decode_diagnostic(data: Any) -> Diagnostic:
    if not isinstance(data, list) or len(data) != 6:
        raise CacheFormatError("not a diagnostic")
    path, line, column, rule, message, severity = data
    return Diagnostic(
        Location(_text(path), _integer(line), _integer(column)), _text(rule), _text(message), Severity(_text(severity))
    )


def _encode_item(item: JobItem) -> dict[str, Any]:
    """An item with its DynamoDB line (every valid one) is stored as the line alone: the spec and the
    attributes are in it, typed. Storing them again would double the cache and its encoding time."""
    entry: dict[str, Any] = {
        "project_name": item.project_name,
        "job_name": item.job_name,
        "feature_spec_version": item.feature_spec_version,
        "source": item.source,
        "encoded": item.encoded,
    }
    if not item.encoded:  # too large for DynamoDB: no line (the file has an error)
        entry["spec"], entry["attributes"] = encode_value(item.spec), encode_value(item.attributes)
    return entry


def _decode_item(data: Any) -> JobItem:
    if not isinstance(data, dict):
        raise CacheFormatError("not a job item")
    encoded = _text(data["encoded"])
    if not encoded:
        spec, attributes = decode_value(data["spec"]), decode_value(data["attributes"])
    else:
        spec, attributes = _from_line(encoded)
    if not isinstance(spec, dict) or not isinstance(attributes, dict):
        raise CacheFormatError("a job item's spec and attributes are mappings")
    return JobItem(
        _text(data["project_name"]),
        _text(data["job_name"]),
        _optional_text(data["feature_spec_version"]),
        spec,
        attributes,
        _text(data["source"]),
        encoded,
    )


LINE_KEYS = frozenset({"project_name", "job_name", "spec"})  # the rest of an item line is its attributes


def _from_line(line: str) -> tuple[Any, dict[str, Any]]:
    """(spec, attributes) of an item line (`compiler.dynamodb_json.item_line`); the spec's numbers come
    back as YAML numbers with the literal they were written with."""
    typed = json.loads(line)["Item"]
    if not isinstance(typed, dict) or "spec" not in typed:
        raise CacheFormatError("not an item line")
    attributes = {key: from_attribute(value) for key, value in typed.items() if key not in LINE_KEYS}
    return from_attribute(typed["spec"]), attributes


def from_attribute(data: Any) -> Any:
    """A typed DynamoDB attribute value as written by `item_line`, as the value the YAML loader made."""
    if type(data) is dict and len(data) == 1:
        inner = data.get("S")
        if type(inner) is str:
            return inner
        inner = data.get("M")
        if type(inner) is dict:
            return {key: from_attribute(child) for key, child in inner.items()}
        inner = data.get("L")
        if type(inner) is list:
            return [from_attribute(child) for child in inner]
        inner = data.get("N")
        if type(inner) is str:
            try:
                return Number(inner)
            except InvalidOperation as problem:
                raise CacheFormatError(f"bad number {inner!r}") from problem
        inner = data.get("BOOL")
        if type(inner) is bool:
            return inner
        if data.get("NULL") is True:
            return None
    raise CacheFormatError("not a typed attribute value")


def _encode_route(route: Route) -> dict[str, Any]:
    return {
        "org1": route.org1,
        "org2": route.org2,
        "project_name": route.project_name,
        "ingestion_prefix": route.ingestion_prefix,
        "feature_spec_version": route.feature_spec_version,
        "enabled": route.enabled,
        "source": route.source,
        "line": route.line,
        "column": route.column,
    }


def _decode_route(data: Any) -> Route:
    if not isinstance(data, dict) or not isinstance(data["enabled"], bool):
        raise CacheFormatError("not a route")
    return Route(
        _text(data["org1"]),
        _text(data["org2"]),
        _text(data["project_name"]),
        _text(data["ingestion_prefix"]),
        _optional_text(data["feature_spec_version"]),
        data["enabled"],
        _text(data["source"]),
        _integer(data["line"]),
        _integer(data["column"]),
    )


def _encode_path(path: tuple[str | int, ...]) -> list[Any]:
    return [part if isinstance(part, str) else {"i": part} for part in path]


def _decode_path(data: Any) -> tuple[str | int, ...]:
    if not isinstance(data, list):
        raise CacheFormatError("not a JSON path")
    return tuple(
        part if isinstance(part, str) else _integer(part["i"] if isinstance(part, dict) else None) for part in data
    )


def encode_result(result: FileResult) -> dict[str, Any]:
    return {
        "relative": result.relative,
        "item": None if result.item is None else _encode_item(result.item),
        "routes": [_encode_route(route) for route in result.routes],
        "diagnostics": [_encode_diagnostic(d) for d in result.diagnostics],
        "positions": [[_encode_path(path), line, column] for path, (line, column) in result.positions.items()],
        "payload_key": result.payload_key,
    }


def decode_result(data: Any) -> FileResult:
    from compiler.validation.validate import FileResult

    try:
        if not isinstance(data, dict):
            raise CacheFormatError("not a file result")
        positions = {}
        for entry in data["positions"]:
            path, line, column = entry
            positions[_decode_path(path)] = (_integer(line), _integer(column))
        return FileResult(
            relative=_text(data["relative"]),
            item=None if data["item"] is None else _decode_item(data["item"]),
            routes=[_decode_route(route) for route in data["routes"]],
            diagnostics=[_decode_diagnostic(d) for d in data["diagnostics"]],
            positions=positions,
            payload_key=_text(data["payload_key"]),
        )
    except (KeyError, TypeError, ValueError) as problem:
        raise CacheFormatError(str(problem)) from problem
