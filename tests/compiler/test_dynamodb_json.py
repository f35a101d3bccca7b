"""The direct DynamoDB JSON writer produces exactly what json.dumps makes of to_item()."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compiler.dynamodb_json import MAX_ITEM_BYTES, item_line, item_size, to_item

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.text(max_size=12),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.decimals(allow_nan=False, allow_infinity=False, places=6),
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=10), values, max_size=6))
def test_item_line_matches_json_dumps(item: dict[str, Any]) -> None:
    expected = json.dumps({"Item": to_item(item)}, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert item_line(item) == expected


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=10), values, max_size=6))
def test_item_size_never_exceeds_the_line_length(item: dict[str, Any]) -> None:
    """compiler/validation/validate.py skips the exact size when the line is within the limit."""
    assert item_size(item) <= len(item_line(item).encode("utf-8"))


def test_values_dynamodb_cannot_store_are_refused() -> None:
    with pytest.raises(TypeError, match="floats are not exact"):
        item_line({"x": 1.5})
    with pytest.raises(TypeError, match="cannot store a set"):
        item_line({"x": {1, 2}})
    assert MAX_ITEM_BYTES == 400 * 1024
    assert item_line({"n": Decimal("0.5"), "b": False}) == '{"Item":{"b":{"BOOL":false},"n":{"N":"0.5"}}}'
