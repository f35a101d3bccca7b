"""Rendering the orchestration templates (`templates/`) into canonical JSON.

The environment is an overlay of the one sandboxed, StrictUndefined Jinja environment, with a file loader
and block delimiters `<% %>` / comments `<# #>`: `{% ... %}` belongs to JSONata in the state machines.
Values enter the JSON only through the `tojson` filter (and `jsonata`, which JSON-quotes a JSONata
expression), never by string concatenation. The output is parsed and re-serialised canonically.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from compiler.errors import NdrcError
from compiler.load.resources import resource_dir
from compiler.load.templating import jinja_environment

TEMPLATES_DIR = resource_dir("templates")


class TemplateRenderError(NdrcError):
    """Raised when an orchestration template fails to render or renders invalid JSON."""

    exit_code = 2


def to_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _collapse(expression: str) -> str:
    """Collapse whitespace runs outside JSONata string literals into one space."""
    out: list[str] = []
    quote: str | None = None
    escaped = pending_space = False
    for char in expression.strip():
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


def jsonata(expression: str) -> str:
    """A JSONata expression as a JSON string literal: `"{% <expression> %}"`."""
    return to_json("{% " + _collapse(expression) + " %}")


@lru_cache(maxsize=1)
def template_environment() -> SandboxedEnvironment:
    environment = jinja_environment().overlay(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        block_start_string="<%",
        block_end_string="%>",
        comment_start_string="<#",
        comment_end_string="#>",
        trim_blocks=True,
        lstrip_blocks=True,
    )
    assert isinstance(environment, SandboxedEnvironment)
    # An overlay shares its parent's filter dict: copy it before adding ours.
    environment.filters = {**environment.filters, "tojson": to_json, "jsonata": jsonata}
    return environment


def render_document(template: str, context: dict[str, Any]) -> Any:
    """Render `templates/<template>` and parse the result as JSON."""
    try:
        text = template_environment().get_template(template).render(context)
    except jinja2.TemplateSyntaxError as err:
        raise TemplateRenderError(f"templates/{err.name or template}:{err.lineno}: {err.message}") from err
    except jinja2.TemplateError as err:
        raise TemplateRenderError(f"templates/{template}: {type(err).__name__}: {err}") from err
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        line = text.splitlines()[err.lineno - 1] if err.lineno <= len(text.splitlines()) else ""
        raise TemplateRenderError(
            f"templates/{template} rendered invalid JSON at line {err.lineno}: {err.msg}: {line.strip()!r}"
        ) from err


def canonical_json(document: Any) -> bytes:
    """Byte-identical JSON: sorted keys, two-space indent, UTF-8, trailing newline."""
    return (json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def template_sources(*templates: str) -> tuple[str, ...]:
    return tuple(sorted(f"templates/{name}" for name in templates))
