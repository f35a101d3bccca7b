"""Per-file validation results as plain JSON data, and back: what the validation cache stores.

Nothing read back is executed or imported: every value is rebuilt from an explicit shape, and anything
that does not fit it raises `CacheFormatError` (the caller then validates that file again). A job item is
stored as its DynamoDB JSON line (`compiler.dynamodb_json.item_line`), whose typed attribute values
(`{"S": ...}`, `{"N": "<literal as written>"}`, `{"M": ...}`, ...) say what each value is: the spec and the
attributes are rebuilt from it.
"""

from __future__ import annotations

import json
from decimal import InvalidOperation
from typing import TYPE_CHECKING, Any

from compiler.diagnostics import Diagnostic, Location, Severity
from compiler.dynamodb_json import item_line
from compiler.load.yamlload import Number
from compiler.model import JobItem, Route

if TYPE_CHECKING:
    from compiler.validation.validate import FileResult


class CacheFormatError(ValueError):
    """The stored data does not have the shape this ndrc writes."""


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
    """The item's identity and its DynamoDB line, which holds the spec and the attributes, typed. An item
    too large for DynamoDB carries no line (`encoded` is empty: its file has an error); the cache still
    stores one, marked as not the item's own."""
    return {
        "project_name": item.project_name,
        "job_name": item.job_name,
        "feature_spec_version": item.feature_spec_version,
        "source": item.source,
        "line": item.encoded or item_line(item.as_item()),
        "line_is_encoded": bool(item.encoded),
    }


def _decode_item(data: Any) -> JobItem:
    if not isinstance(data, dict) or not isinstance(data["line_is_encoded"], bool):
        raise CacheFormatError("not a job item")
    line = _text(data["line"])
    spec, attributes = _from_line(line)
    if not isinstance(spec, dict):
        raise CacheFormatError("a job item's spec is a mapping")
    return JobItem(
        _text(data["project_name"]),
        _text(data["job_name"]),
        _optional_text(data["feature_spec_version"]),
        spec,
        attributes,
        _text(data["source"]),
        line if data["line_is_encoded"] else "",
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
