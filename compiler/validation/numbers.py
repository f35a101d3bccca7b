"""DynamoDB's number limits, checked before anything is compiled or written.

A DynamoDB number has at most 38 significant digits (leading and trailing zeros are trimmed) and is zero or
has a magnitude from 1E-130 to 9.9999999999999999999999999999999999999E+125:
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.NamingRulesDataTypes.html#HowItWorks.DataTypes.Number
moto stores such numbers without complaint; AWS rejects the whole write.
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any

from compiler.load.yamlload import JsonPath, Number

MAX_DIGITS = 38
SMALLEST = Decimal("1E-130")
TOO_LARGE = Decimal("1E+126")


def number_problem(value: Decimal | int) -> str | None:
    """Why DynamoDB cannot store this number, or None."""
    number = Decimal(value)
    if not number.is_finite():
        return "infinity and NaN cannot be stored in DynamoDB"
    if number == 0:
        return None
    magnitude = number.copy_abs()  # exact; abs() would round to the context precision
    if magnitude < SMALLEST:
        return f"{value} is smaller in magnitude than DynamoDB's smallest number 1e-130"
    if magnitude >= TOO_LARGE:
        return f"{value} is larger in magnitude than DynamoDB's largest number (just under 1e+126)"
    digits = len("".join(map(str, number.as_tuple().digits)).strip("0"))  # exact: no context rounding
    if digits > MAX_DIGITS:
        return f"{value} has {digits} significant digits; DynamoDB numbers have at most {MAX_DIGITS}"
    return None


def _storable(number: Decimal) -> bool:
    """A quick sufficient test: finite, at most 38 digits in all, exponent within DynamoDB's range."""
    if not number.is_finite():
        return False
    return not number or (-130 <= number.adjusted() <= 125 and len(number.as_tuple().digits) <= MAX_DIGITS)


def plain_number_problems(value: Any, path: JsonPath = ()) -> list[tuple[JsonPath, str]]:
    """(path, problem) for every number of a plain value (Decimal/int, not bool) DynamoDB cannot store."""
    found: list[tuple[JsonPath, str]] = []

    # Runs on every value of every file: exact types first, no generators, a child's path built only when
    # it is a container or a number that fails the quick test.
    def visit(value: Any, path: JsonPath) -> None:
        if isinstance(value, dict):
            pairs: Any = value.items()
        elif isinstance(value, list | tuple):
            pairs = enumerate(value)
        else:
            if isinstance(value, Decimal | int) and not isinstance(value, bool):
                problem = number_problem(value)
                if problem:
                    found.append((path, problem))
            return
        for key, child in pairs:
            kind = type(child)
            if kind is str or kind is bool or child is None:
                continue
            if kind is Number and _storable(child):
                continue
            visit(child, (*path, key))

    visit(value, path)
    return found


def _text(path: JsonPath) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(item)"


def typed_number_problems(item: dict[str, Any]) -> list[tuple[str, str]]:
    """(attribute path, problem) for every N / NS value of a DynamoDB JSON item DynamoDB would reject."""
    found: list[tuple[str, str]] = []

    def visit(value: Any, path: JsonPath) -> None:
        if not isinstance(value, dict) or len(value) != 1:
            return
        ((tag, inner),) = value.items()
        numbers = [inner] if tag == "N" else inner if tag == "NS" and isinstance(inner, list) else []
        for text in numbers:
            try:
                problem = number_problem(Decimal(str(text)))
            except InvalidOperation:
                problem = f"{json.dumps(text)} is not a number"
            if problem:
                found.append((_text(path), problem))
        if tag == "M" and isinstance(inner, dict):
            for key, child in inner.items():
                visit(child, (*path, key))
        elif tag == "L" and isinstance(inner, list):
            for index, child in enumerate(inner):
                visit(child, (*path, index))

    for name, value in item.items():
        visit(value, (name,))
    return found
