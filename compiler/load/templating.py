"""The one Jinja2 environment: sandboxed, StrictUndefined, errors translated into diagnostics."""

from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment, SecurityError

from compiler.diagnostics import Diagnostic, error
from compiler.load.yamlload import JsonPath, LoadedYaml
from compiler.rule_catalog import JINJA_RENDER, JINJA_SYNTAX, JINJA_UNDEFINED, JINJA_UNSAFE

MAX_OUTPUT = 100_000  # characters one template may produce (a DynamoDB item is at most 400 KB)
MAX_POWER_DIGITS = 1_000
MAX_FORMAT_WIDTH = 10_000
_FORMAT_WIDTH = re.compile(r"%[-#0 +]*(\d+|\*)?(?:\.(\d+|\*))?")


class _BoundedEnvironment(SandboxedEnvironment):
    """The sandbox plus resource limits: no power, repetition, padding or output beyond a few hundred KB,
    refused before it is computed."""

    intercepted_binops = frozenset({"**", "*", "%"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            _check_power(left, right)
        elif operator == "*":
            _check_repeat(left, right)
            _check_repeat(right, left)
        elif operator == "%" and isinstance(left, str):
            _check_widths(left)
        return super().call_binop(context, operator, left, right)


def _check_power(base: Any, exponent: Any) -> None:
    if isinstance(base, int | float) and isinstance(exponent, int | float) and not isinstance(exponent, bool):
        magnitude = abs(float(base)) if isinstance(base, float) else abs(base)
        if magnitude > 1 and exponent * math.log10(magnitude) > MAX_POWER_DIGITS:
            raise SecurityError(f"{base} ** {exponent} is too large (more than {MAX_POWER_DIGITS} digits)")


def _check_repeat(sequence: Any, count: Any) -> None:
    if isinstance(sequence, str | list | tuple) and isinstance(count, int) and len(sequence) * count > MAX_OUTPUT:
        raise SecurityError(f"repeating a value {count} times is too large (more than {MAX_OUTPUT:,} items)")


def _check_widths(template: str) -> None:
    for match in _FORMAT_WIDTH.finditer(template):
        for width in match.groups():
            if width == "*" or (width and int(width) > MAX_FORMAT_WIDTH):
                raise SecurityError(f"format width {width} is too large (at most {MAX_FORMAT_WIDTH:,})")


def _bounded_filter(name: str, width_argument: int):  # type: ignore[no-untyped-def]
    original = jinja2.filters.FILTERS[name]

    def bounded(*args: Any, **kwargs: Any) -> Any:
        width = args[width_argument] if len(args) > width_argument else kwargs.get("width", 0)
        if isinstance(width, int) and width > MAX_FORMAT_WIDTH:
            raise SecurityError(f"{name} width {width} is too large (at most {MAX_FORMAT_WIDTH:,})")
        return original(*args, **kwargs)

    return bounded


_ENVIRONMENT = _BoundedEnvironment(
    undefined=jinja2.StrictUndefined,
    autoescape=False,
    keep_trailing_newline=True,
)
_ENVIRONMENT.filters["center"] = _bounded_filter("center", 1)
_ENVIRONMENT.filters["indent"] = _bounded_filter("indent", 1)
_ENVIRONMENT.filters["wordwrap"] = _bounded_filter("wordwrap", 2)


@lru_cache(maxsize=4096)
def _template(source: str) -> jinja2.Template:
    return _ENVIRONMENT.from_string(source)


_SIMPLE_EXPRESSION = re.compile(r"\{\{\s*([A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)*)\s*\}\}")
_MISSING = object()


def _lookup(context: dict[str, Any], dotted: str) -> Any:
    value: Any = context
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _render_simple(text: str, context: dict[str, Any]) -> str | None:
    """Render text whose only expressions are dotted lookups (`{{ env.buckets.features }}`) without
    compiling a template; None when anything else is in it or a name is missing (Jinja then renders
    it, or reports it)."""
    if "{%" in text or "{#" in text:
        return None
    pieces: list[str] = []
    position = 0
    for match in _SIMPLE_EXPRESSION.finditer(text):
        value = _lookup(context, match.group(1))
        if value is _MISSING or isinstance(value, dict | list) or value is None:
            return None
        pieces.append(text[position : match.start()])
        pieces.append(str(getattr(value, "literal", value)) if not isinstance(value, bool) else str(value))
        position = match.end()
    rest = text[position:]
    if "{{" in rest:
        return None
    return "".join(pieces) + rest


def _bounded_render(template: jinja2.Template, context: dict[str, Any]) -> str:
    """Render, stopping as soon as the output passes MAX_OUTPUT characters."""
    pieces, size = [], 0
    for piece in template.generate(context):
        size += len(piece)
        if size > MAX_OUTPUT:
            raise SecurityError(f"the template renders more than {MAX_OUTPUT:,} characters")
        pieces.append(piece)
    return "".join(pieces)


def _has_expression(text: str) -> bool:
    return "{{" in text or "{%" in text or "{#" in text


def render_values(document: LoadedYaml, context: dict[str, Any]) -> list[Diagnostic]:
    """Render every string value holding a Jinja2 expression, in place. Returns the problems found."""
    problems: list[Diagnostic] = []

    def visit(value: Any, json_path: JsonPath) -> Any:
        # Most values are strings without "{": test that first, and build a child's path only when needed.
        if isinstance(value, str):
            return render(value, json_path) if "{" in value and _has_expression(value) else value
        if isinstance(value, dict):
            for key, child in value.items():
                if not isinstance(child, str) or "{" in child:
                    value[key] = visit(child, (*json_path, key))
            return value
        if isinstance(value, list):
            return [
                child if isinstance(child, str) and "{" not in child else visit(child, (*json_path, index))
                for index, child in enumerate(value)
            ]
        return value

    def render(value: str, json_path: JsonPath) -> str:
        simple = _render_simple(value, context)
        if simple is not None:
            return simple
        try:
            return _bounded_render(_template(value), context)
        except jinja2.TemplateSyntaxError as exc:
            problems.append(error(document.locate(json_path), JINJA_SYNTAX, f"template error: {exc.message}"))
        except jinja2.UndefinedError as exc:
            problems.append(error(document.locate(json_path), JINJA_UNDEFINED, f"{exc.message} in {value!r}"))
        except SecurityError as exc:
            problems.append(error(document.locate(json_path), JINJA_UNSAFE, str(exc)))
        except Exception as exc:  # a template may fail in any way at render time
            problems.append(error(document.locate(json_path), JINJA_RENDER, f"{type(exc).__name__}: {exc}"))
        return value

    if document.templated is None:
        document.data = visit(document.data, ())
        return problems
    for json_path in document.templated:  # the loader's record: no walk over every value
        if not json_path:
            document.data = visit(document.data, ())
            continue
        container = document.data
        for part in json_path[:-1]:
            container = container[part]
        last = json_path[-1]
        container[last] = visit(container[last], json_path)
    return problems
