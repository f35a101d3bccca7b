"""DynamoDB numbers: at most 38 significant digits, magnitude 1e-130 .. <1e+126 (or zero). Anything else is
a located validation error, never a compiled item that publish later fails to write.
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.NamingRulesDataTypes.html#HowItWorks.DataTypes.Number
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from compiler.compilation.compile import validate_with_cache
from compiler.validation.numbers import number_problem, typed_number_problems
from compiler.validation.workspace_config import load_workspace


@pytest.mark.parametrize(
    "text",
    [
        "0",
        "-0",
        "1e-130",
        "-1e-130",
        "9.9999999999999999999999999999999999999e125",
        "12345678901234567890123456789012345678",
        "1" + "0" * 60,
        "0.000001",
        "1E+125",
    ],
)
def test_storable_numbers(text: str) -> None:
    assert number_problem(Decimal(text)) is None


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("1e-200", "smaller"),
        ("-1e-131", "smaller"),
        ("1e126", "larger"),
        ("-1e130", "larger"),
        ("123456789012345678901234567890123456789", "38"),
        ("1.23456789012345678901234567890123456789", "38"),
    ],
)
def test_unstorable_numbers(text: str, why: str) -> None:
    problem = number_problem(Decimal(text))
    assert problem is not None and why in problem


def test_typed_items_are_checked_in_every_nested_value() -> None:
    item = {"k": {"S": "a"}, "spec": {"M": {"eps": {"N": "1e-200"}, "l": {"L": [{"N": "1"}, {"NS": ["1", "1e130"]}]}}}}
    assert [path for path, _ in typed_number_problems(item)] == ["spec.eps", "spec.l[1]"]


def test_validation_reports_each_unstorable_number_where_it_is_written(workspace_dir: Path) -> None:
    spec = workspace_dir / "specs/p1/fg_c_builder#v1.yaml"
    spec.write_text(spec.read_text() + "  eps: 1e-200\n  z_max: 6\n  big: [1, 1e130]\n")
    result = validate_with_cache(load_workspace(workspace_dir), "local")
    found = [(d.line, d.column, d.rule) for d in result.diagnostics if d.rule == "number.dynamodb"]
    lines = spec.read_text().splitlines()
    eps_line = next(i for i, line in enumerate(lines, start=1) if "eps: 1e-200" in line)
    assert found == [(eps_line, 8, "number.dynamodb"), (eps_line + 2, 12, "number.dynamodb")]
