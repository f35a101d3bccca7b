"""The one Jinja2 environment: sandboxed, StrictUndefined, errors translated into diagnostics."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment, SecurityError

from compiler.diagnostics import Diagnostic, error
from compiler.load.yamlload import JsonPath, LoadedYaml
from compiler.rule_catalog import JINJA_RENDER, JINJA_SYNTAX, JINJA_UNDEFINED, JINJA_UNSAFE

_ENVIRONMENT = SandboxedEnvironment(
    undefined=jinja2.StrictUndefined,
    autoescape=False,
    keep_trailing_newline=True,
)


def jinja_environment() -> SandboxedEnvironment:
    return _ENVIRONMENT


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
            return _template(value).render(context)
        except jinja2.TemplateSyntaxError as exc:
            problems.append(error(document.locate(json_path), JINJA_SYNTAX, f"template error: {exc.message}"))
        except jinja2.UndefinedError as exc:
            problems.append(error(document.locate(json_path), JINJA_UNDEFINED, f"{exc.message} in {value!r}"))
        except SecurityError as exc:
            problems.append(error(document.locate(json_path), JINJA_UNSAFE, str(exc)))
        except Exception as exc:  # a template may fail in any way at render time
            problems.append(error(document.locate(json_path), JINJA_RENDER, f"{type(exc).__name__}: {exc}"))
        return value

    document.data = visit(document.data, ())
    return problems
