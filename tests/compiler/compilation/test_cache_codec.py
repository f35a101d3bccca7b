"""The validation cache's value encoding: every shape round-trips exactly, nothing else is accepted."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from compiler.compilation.cache_codec import CacheFormatError, decode_value, encode_value
from compiler.load.yamlload import Number


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
