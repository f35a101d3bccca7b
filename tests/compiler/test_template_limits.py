"""Template rendering is bounded: huge powers, repetitions, format widths and outputs are refused with a
located `jinja.unsafe` error before they are computed."""

from __future__ import annotations

from pathlib import Path

import pytest

from compiler.compilation.compile import validate_with_cache
from compiler.validation.workspace_config import load_workspace


def _render(workspace_dir: Path, expression: str) -> list[tuple[int, str, str]]:
    spec = workspace_dir / "specs/p1/fg_c_builder#v1.yaml"
    spec.write_text(spec.read_text() + f"  note: '{expression}'\n")
    result = validate_with_cache(load_workspace(workspace_dir), "local")
    return [(d.line, d.rule, d.message) for d in result.diagnostics if d.is_error]


@pytest.mark.parametrize(
    "expression",
    [
        "{{ 9 ** 9999999 }}",
        "{{ (10 ** 900) ** 2 }}",
        '{{ "a" * 100000000 }}',
        "{{ [1] * 100000000 }}",
        '{{ "%999999999d" % 1 }}',
        '{{ "x" | center(999999999) }}',
        '{{ "x" | indent(999999999, true) }}',
        "{% for i in range(99999) %}{{ i }}{% endfor %}",
    ],
)
def test_unbounded_work_is_refused(workspace_dir: Path, expression: str) -> None:
    problems = _render(workspace_dir, expression)
    assert [rule for _, rule, _ in problems] == ["jinja.unsafe"], problems
    line = len((workspace_dir / "specs/p1/fg_c_builder#v1.yaml").read_text().splitlines())
    assert problems[0][0] == line


@pytest.mark.parametrize(
    ("expression", "value"), [("{{ 2 ** 10 }}", "1024"), ('{{ "ab" * 3 }}', "ababab"), ('{{ "%05d" % 42 }}', "00042")]
)
def test_ordinary_arithmetic_still_renders(workspace_dir: Path, expression: str, value: str) -> None:
    assert _render(workspace_dir, expression) == []
    result = validate_with_cache(load_workspace(workspace_dir), "local")
    (item,) = [i for i in result.compiled.items if i.job_name == "fg_c_builder"]
    assert item.spec["note"] == value
