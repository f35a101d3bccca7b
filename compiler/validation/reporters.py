"""Render diagnostics for people (text), machines (json) and GitHub Actions (workflow annotations)."""

from __future__ import annotations

import json
from collections.abc import Callable

from compiler.diagnostics import Diagnostic


def _position(diagnostic: Diagnostic) -> str:
    if diagnostic.line:
        return f"{diagnostic.path}:{diagnostic.line}:{diagnostic.column}"
    return diagnostic.path


def summary(diagnostics: list[Diagnostic]) -> str:
    errors = sum(1 for d in diagnostics if d.is_error)
    warnings = len(diagnostics) - errors
    files = len({d.path for d in diagnostics})
    if not diagnostics:
        return "no problems found"
    return f"{errors} error(s), {warnings} warning(s) in {files} file(s)"


def render_text(diagnostics: list[Diagnostic]) -> str:
    lines = [f"{_position(d)}: {d.severity.value} [{d.rule}] {d.message}" for d in diagnostics]
    lines.append(summary(diagnostics))
    return "\n".join(lines) + "\n"


def render_json(diagnostics: list[Diagnostic]) -> str:
    return json.dumps([d.as_dict() for d in diagnostics], indent=2, ensure_ascii=False) + "\n"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(diagnostics: list[Diagnostic]) -> str:
    lines = []
    for d in diagnostics:
        properties = [f"file={_escape_property(d.path)}"]
        if d.line:
            properties += [f"line={d.line}", f"col={d.column}"]
        properties.append(f"title={_escape_property(d.rule)}")
        lines.append(f"::{d.severity.value} {','.join(properties)}::{_escape_data(d.message)}")
    return "\n".join(lines) + ("\n" if lines else "")


REPORTER_BY_NAME: dict[str, Callable[[list[Diagnostic]], str]] = {
    "text": render_text,
    "json": render_json,
    "github": render_github,
}
