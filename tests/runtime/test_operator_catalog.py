"""The plain-data operator catalog: validation messages, and no pyspark import."""

from __future__ import annotations

import subprocess
import sys

import pytest

from runtime.operator_catalog import OPERATOR_CATALOG, validate_operator, validate_operators


def test_catalog_imports_without_pyspark() -> None:
    code = "import sys, runtime.operator_catalog, runtime.config; sys.exit('pyspark' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_every_operator_has_description_and_object_schema() -> None:
    for name, entry in OPERATOR_CATALOG.items():
        assert entry["description"], name
        assert entry["params"]["type"] == "object", name
        assert entry["params"]["additionalProperties"] is False, name


@pytest.mark.parametrize(
    "operator",
    [
        {"type": "drop_self_traffic"},
        {"type": "filter_ports", "params": {"include": [443, "8000-8099"]}},
        {"type": "window_bucket", "params": {"minutes": 15, "offset_minutes": 8}},
        {"type": "vdi_filter", "params": {"keep": "non_vdi", "side": "either"}},
        {"type": "port_class", "params": {"classes": [{"name": "web", "ports": [80, 443]}]}},
        {"type": "ip_scope", "params": {"internal_cidrs": ["10.0.0.0/8"]}},
        {"type": "min_bytes", "params": {"min_total_bytes": 1}},
        {"type": "dedupe", "params": {"keys": ["host_ip"]}},
    ],
)
def test_valid_operators(operator: dict) -> None:
    assert validate_operator(operator) == []


@pytest.mark.parametrize(
    ("operators", "expected"),
    [
        ([{"type": "explode_everything"}], "operators[0].type: unknown operator type 'explode_everything'"),
        (
            [{"type": "drop_self_traffic"}, {"type": "window_bucket", "params": {"minutes": 7}}],
            "operators[1].params.minutes: 7 is not one of",
        ),
        ([{"type": "filter_ports", "params": {}}], "operators[0].params: {} is not valid under any"),
        (
            [{"type": "filter_ports", "params": {"include": ["9000-80"]}}],
            "operators[0].params.include: port range '9000-80' must be lo-hi",
        ),
        ([{"type": "ip_scope", "params": {"internal_cidrs": ["10.0.0.0/33"]}}], "is not a valid CIDR"),
        ([{"type": "min_bytes", "params": {"min_total_bytes": 1, "x": 2}}], "Additional properties"),
        ([{"type": "dedupe", "oops": 1}], "operators[0]: unknown key 'oops'"),
        ("drop_self_traffic", "operators: must be a list"),
    ],
)
def test_invalid_operators_are_reported_readably(operators: object, expected: str) -> None:
    problems = validate_operators(operators)
    assert any(expected in problem for problem in problems), problems


def test_unknown_type_lists_known_operators() -> None:
    [problem] = validate_operators([{"type": "nope"}])
    assert "known: dedupe, drop_self_traffic" in problem
