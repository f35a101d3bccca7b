"""JSONata expressions of the state machines: text files under `expressions/`, values substituted as JSON.

An expression file is JSONata source, optionally opened by one `/* ... */` comment (dropped). It names its
compile-time values `#{name}` (`#{` is no JSONata syntax). `expression(name, **values)` substitutes them:
a `Jsonata` value (another expression) is inserted as source, anything else as its JSON literal (a valid
JSONata literal), so values never mix with the expression's own syntax. A placeholder without a value or
a value without a placeholder is an error naming the file and line. `field(expression)` makes the
`"{% ... %}"` string of an ASL field, with whitespace runs outside string literals collapsed to one space.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

from compiler.errors import NdrcError
from compiler.orchestration.canonical import json_literal

EXPRESSIONS_DIR = Path(__file__).resolve().parent / "expressions"
PLACEHOLDER = re.compile(r"#\{([a-z_][a-z0-9_]*)\}")
_HEADER = re.compile(r"\A\s*/\*.*?\*/\s*", re.DOTALL)


class ExpressionError(NdrcError):
    """An expression file and the values given to it do not fit (a programming error in ndrc)."""

    exit_code = 2


class Jsonata(str):
    """JSONata source text (inserted into other expressions as source, not as a JSON string)."""

    __slots__ = ()


@cache
def source(name: str) -> str:
    """The text of `expressions/<name>.jsonata` without its opening comment."""
    text = (EXPRESSIONS_DIR / f"{name}.jsonata").read_text(encoding="utf-8")
    return _HEADER.sub("", text, count=1)


def substitute(where: str, text: str, values: dict[str, Any]) -> Jsonata:
    used: set[str] = set()

    def value_of(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in values:
            line = text.count("\n", 0, match.start()) + 1
            raise ExpressionError(f"{where}:{line}: no value for #{{{key}}}")
        used.add(key)
        value = values[key]
        return value if isinstance(value, Jsonata) else json_literal(value)

    result = PLACEHOLDER.sub(value_of, text)
    unused = sorted(set(values) - used)
    if unused:
        raise ExpressionError(f"{where} has no placeholder for {', '.join(unused)}")
    return Jsonata(result)


def expression(name: str, **values: Any) -> Jsonata:
    """The expression `name` with its `#{...}` values substituted."""
    return substitute(f"expressions/{name}.jsonata", source(name), values)


def inline(text: str, **values: Any) -> Jsonata:
    """A one-line expression written where it is used, with the same `#{...}` substitution."""
    return substitute(f"inline expression {text[:40]!r}", text, values)


def collapse(text: str) -> str:
    """Collapse whitespace runs outside JSONata string literals into one space."""
    out: list[str] = []
    quote: str | None = None
    escaped = pending_space = False
    for char in text.strip():
        if quote:
            out.append(char)
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = None
            continue
        if char.isspace():
            pending_space = True
            continue
        if pending_space and out:
            out.append(" ")
        pending_space = False
        out.append(char)
        if char in "'\"":
            quote = char
    return "".join(out)


def field(text: str) -> str:
    """The value of an ASL field evaluated as JSONata: `{% <expression> %}`."""
    return "{% " + collapse(text) + " %}"
