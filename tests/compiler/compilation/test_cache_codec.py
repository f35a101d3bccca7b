"""The validation cache's encoding of a file's result: a job item is stored as its DynamoDB line and comes
back exactly (number literals as written); anything that does not have the shape this ndrc writes is a
format error."""

from __future__ import annotations

import json
from typing import Any

import pytest

from compiler.compilation.cache_codec import CacheFormatError, decode_result, encode_result, from_attribute
from compiler.diagnostics import Diagnostic, Location, Severity
from compiler.dynamodb_json import item_line
from compiler.load.yamlload import Number
from compiler.model import JobItem, Route
from compiler.validation.validate import FileResult

SPEC = {
    "z": [Number("1e-6"), Number("0.50"), True, False, None, Number("-3")],
    "a": {"s": "text", "e": [], "m": {}, "unicode": "café ✓"},
    # a user's keys named like DynamoDB's type tags stay keys
    "tags": {"S": "x", "N": {"M": "y"}, "NULL": [{"BOOL": "z"}]},
}


def _item(encoded: bool) -> JobItem:
    item = JobItem("p1", "fg_a_builder", "v1", SPEC, {"owner": "team", "tags": ["x"]}, "specs/p1/x.yaml")
    if encoded:
        object.__setattr__(item, "encoded", item_line(item.as_item()))
    return item


def _round_trip(result: FileResult) -> FileResult:
    return decode_result(json.loads(json.dumps(encode_result(result))))


@pytest.mark.parametrize("encoded", [True, False], ids=["with its line", "too large: no line of its own"])
def test_a_job_item_round_trips(encoded: bool) -> None:
    item = _item(encoded)
    back = _round_trip(FileResult("specs/p1/x.yaml", item=item)).item
    assert back == item and back is not None and back.encoded == item.encoded
    assert back.spec == SPEC and list(back.spec["z"]) == SPEC["z"]
    assert [n.literal for n in back.spec["z"][:2]] == ["1e-6", "0.50"]
    assert type(back.spec["z"][0]) is Number and back.spec["z"][2] is True and back.spec["z"][4] is None
    assert item_line(back.as_item()) == item_line(item.as_item())


def test_routes_diagnostics_and_positions_round_trip() -> None:
    result = FileResult(
        "specs/p1/routing.yaml",
        routes=[Route("o1", "o2", "p1", "s3://b/o1/o2", "v1", True, "specs/p1/routing.yaml", 3, 5)],
        diagnostics=[Diagnostic(Location("specs/p1/routing.yaml", 2, 4), "yaml.ambiguous-bool", "m", Severity.WARNING)],
        positions={("spec", "inputs", 0): (7, 9), (): (1, 1)},
        payload_key="parameters",
    )
    assert _round_trip(result) == result


def test_a_damaged_item_line_is_a_format_error() -> None:
    stored = json.loads(json.dumps(encode_result(FileResult("x", item=_item(True)))))
    stored["item"]["line"] = stored["item"]["line"].replace('{"N":"1e-6"}', '{"Q":"1e-6"}')
    with pytest.raises(CacheFormatError):
        decode_result(stored)


@pytest.mark.parametrize(
    "data",
    [
        {"N": "not a number"},
        {"M": {}, "L": []},
        {"X": 1},
        {"M": [1]},
        {"L": {"a": 1}},
        {"S": 3},
        {"NULL": False},
        [1],
        3,
    ],
)
def test_anything_but_a_typed_value_is_a_format_error(data: Any) -> None:
    with pytest.raises(CacheFormatError):
        from_attribute(data)
