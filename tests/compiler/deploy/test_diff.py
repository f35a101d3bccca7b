"""The semantic diff: key order, number formatting and server-managed attributes never count."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from compiler.deploy.deployed import deployed_item
from compiler.deploy.desired import Scope
from compiler.deploy.diff import MISSING, SetValue, canonical, content_hash, diff, from_typed, same
from compiler.dynamodb_json import to_item

SCOPE = Scope("dynamodb_query", "t", "p")
KEYS = ("project_name", "job_name")


def test_number_formatting_does_not_count() -> None:
    assert same({"eps": Decimal("1e-6")}, {"eps": Decimal("0.000001")})
    assert same(Decimal("1E+3"), 1000) and same(Decimal("1.0"), 1) and same(Decimal("-0"), 0)
    assert not same(Decimal("1e-6"), Decimal("1e-7"))


def test_types_count() -> None:
    assert not same("6", 6) and not same(True, 1) and not same(None, "null") and not same([1], SetValue((1,)))


def test_set_order_does_not_count_but_list_order_does() -> None:
    one = from_typed({"SS": ["b", "a"]})
    two = from_typed({"SS": ["a", "b"]})
    assert same(one, two)
    assert not same(["a", "b"], ["b", "a"])


json_values = st.recursive(
    st.none() | st.booleans() | st.text(max_size=5) | st.integers(-(10**6), 10**6).map(Decimal),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=12,
)


@given(st.dictionaries(st.text(max_size=6), json_values, max_size=6), st.randoms())
def test_key_order_never_counts(document: dict, rng) -> None:  # type: ignore[no-untyped-def]
    keys = list(document)
    rng.shuffle(keys)
    assert canonical({k: document[k] for k in keys}) == canonical(document)
    assert diff(document, {k: document[k] for k in keys}) == []


@given(st.integers(-(10**9), 10**9), st.integers(-5, 5))
def test_scientific_and_fixed_notation_hash_alike(mantissa: int, exponent: int) -> None:
    scientific = Decimal(f"{mantissa}e{exponent}")
    assert content_hash({"n": scientific}) == content_hash({"n": Decimal(format(scientific, "f"))})


def test_diff_names_changed_added_and_removed_fields() -> None:
    old = {"spec": {"eps": Decimal("1e-6"), "horizons": ["7d", "30d"], "gone": 1}}
    new = {"spec": {"eps": Decimal("2e-6"), "horizons": ["7d", "90d"], "added": {"a b": True}}}
    changes = {c.path: (c.verb, c.old, c.new) for c in diff(old, new)}
    assert changes == {
        "spec.eps": ("changed", Decimal("1e-6"), Decimal("2e-6")),
        "spec.horizons[1]": ("changed", "30d", "90d"),
        "spec.gone": ("removed", 1, MISSING),
        "spec.added": ("added", MISSING, {"a b": True}),
    }


def test_server_managed_attributes_are_not_content_and_drift_is_detected() -> None:
    item = {"project_name": "p", "job_name": "j#v1", "spec": {"eps": Decimal("1e-6")}}
    written = {
        **to_item(item),
        "content_sha256": {"S": content_hash(item)},
        "updated_at": {"S": "2025-01-01T00:00:00Z"},
    }
    deployed = deployed_item("t", KEYS, SCOPE, written)
    assert same(deployed.content, item) and not deployed.drift and deployed.managed
    renumbered = {**written, "spec": {"M": {"eps": {"N": "0.000001"}}}}
    assert not deployed_item("t", KEYS, SCOPE, renumbered).drift
    edited = {**written, "spec": {"M": {"eps": {"N": "0.5"}}}}
    assert deployed_item("t", KEYS, SCOPE, edited).drift
    unmanaged = deployed_item("t", KEYS, SCOPE, to_item(item))
    assert not unmanaged.managed and not unmanaged.drift
