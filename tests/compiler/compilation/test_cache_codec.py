"""The validation cache's value encoding: every shape round-trips exactly, nothing else is accepted."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from compiler.compilation.cache_codec import CacheFormatError, decode_result, decode_value, encode_result, encode_value
from compiler.dynamodb_json import item_line
from compiler.load.yamlload import Number
from compiler.model import JobItem
from compiler.validation.validate import FileResult


@pytest.mark.parametrize(
    "value",
    [
        "text",
        None,
        True,
        Number("1e-6"),
        Number("0.50"),
        Decimal("2.5"),
        7,
        {"m": "a user's key named like a tag", "n": "1", "l": [1], "d": None},
        {"nested": [{"n": Number("3")}, ["x", None, False]], "empty": {}, "none": []},
    ],
)
def test_values_round_trip_through_json(value: Any) -> None:
    decoded = decode_value(json.loads(json.dumps(encode_value(value))))
    assert decoded == value
    assert type(decoded) is type(value)
    if isinstance(value, Number):
        assert decoded.literal == value.literal


def test_a_number_keeps_how_it_was_written() -> None:
    assert decode_value({"m": {"rate": {"n": "1e-6"}}})["rate"].literal == "1e-6"


@pytest.mark.parametrize(
    "data",
    [
        {"n": "not a number"},
        {"m": {}, "l": []},
        {"x": 1},
        {"m": [1]},
        {"l": {"a": 1}},
        [1, 2],
        3,
        {"i": "1.5"},
    ],
)
def test_anything_else_is_a_format_error(data: Any) -> None:
    with pytest.raises(CacheFormatError):
        decode_value(data)


def _item(encoded: bool) -> JobItem:
    spec = {"z": [Number("1e-6"), Number("0.50"), True, None], "a": {"s": "text", "e": [], "m": {}}}
    item = JobItem("p1", "fg_a_builder", "v1", spec, {"owner": "team", "tags": ["x"]}, "specs/p1/x.yaml")
    if encoded:
        object.__setattr__(item, "encoded", item_line(item.as_item()))
    return item


@pytest.mark.parametrize("encoded", [True, False], ids=["with its line", "too large: no line"])
def test_a_job_item_round_trips(encoded: bool) -> None:
    item = _item(encoded)
    result = FileResult("specs/p1/x.yaml", item=item)
    stored = json.loads(json.dumps(encode_result(result)))
    assert ("spec" in stored["item"]) is not encoded  # with a line, the spec is stored once: in the line
    back = decode_result(stored).item
    assert back == item and back is not None and back.encoded == item.encoded
    assert [n.literal for n in back.spec["z"][:2]] == ["1e-6", "0.50"]
    assert item_line(back.as_item()) == item_line(item.as_item())


def test_a_damaged_item_line_is_a_format_error() -> None:
    stored = json.loads(json.dumps(encode_result(FileResult("x", item=_item(True)))))
    stored["item"]["encoded"] = stored["item"]["encoded"].replace('{"N":"1e-6"}', '{"Q":"1e-6"}')
    with pytest.raises(CacheFormatError):
        decode_result(stored)
