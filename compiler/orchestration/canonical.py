"""The one JSON writer of compiled documents: sorted keys, two-space indent, UTF-8, trailing newline."""

from __future__ import annotations

import json
from typing import Any


def canonical_json(document: Any) -> bytes:
    """Byte-identical JSON for equal documents, whatever order their dicts were built in."""
    return (json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def json_literal(value: Any) -> str:
    """One-line JSON of `value` (sorted keys): also a valid JSONata literal."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False)
