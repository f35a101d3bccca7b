"""Rendering visits the strings the loader recorded as holding "{" — every one of them, wherever aliases
and merge keys put them — and renders exactly what a walk over every value renders."""

from __future__ import annotations

import copy
from typing import Any

from compiler.load.templating import render_values
from compiler.load.yamlload import load_yaml

TEXT = b"""\
defaults: &defaults
  bucket: "s3://{{ env.bucket }}/x"
  plain: no-brace
spec:
  <<: *defaults
  list: ["{{ env.bucket }}", plain, {inner: "a{{ env.name }}b"}]
  literal_brace: "{not a template}"
  again: *defaults
  number: 5
"""
CONTEXT: dict[str, Any] = {"env": {"bucket": "bkt", "name": "local"}}


def _loaded() -> Any:
    document, problems = load_yaml("specs/p/x#v1.yaml", TEXT)
    assert document is not None and not problems
    return document


def test_the_loader_records_every_string_holding_a_brace() -> None:
    assert sorted(map(str, _loaded().templated)) == sorted(
        map(
            str,
            [
                ("defaults", "bucket"),
                ("spec", "list", 0),
                ("spec", "list", 2, "inner"),
                ("spec", "literal_brace"),
                ("spec", "again", "bucket"),
                ("spec", "bucket"),
            ],
        )
    )


def test_rendering_the_recorded_paths_equals_rendering_every_value() -> None:
    recorded = _loaded()
    walked = copy.deepcopy(recorded)
    walked.templated = None  # unknown: every value visited
    assert render_values(recorded, CONTEXT) == render_values(walked, CONTEXT) == []
    assert recorded.data == walked.data
    assert recorded.data["spec"]["bucket"] == recorded.data["spec"]["again"]["bucket"] == "s3://bkt/x"
    assert recorded.data["spec"]["list"][2]["inner"] == "alocalb"
    assert recorded.data["spec"]["literal_brace"] == "{not a template}"
