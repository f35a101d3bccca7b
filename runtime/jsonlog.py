"""Structured JSON logs: one object per line on stderr, secrets redacted by key name."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Mapping
from typing import Any, TextIO

_SECRET_MARKERS = ("secret", "password", "token", "credential", "access_key", "session_key")


def _redact(key: str, value: Any) -> Any:
    lowered = key.lower()
    if any(marker in lowered for marker in _SECRET_MARKERS) and value not in (None, ""):
        return "***"
    if isinstance(value, Mapping):
        return {str(k): _redact(str(k), v) for k, v in value.items()}
    return value


def render(level: str, event: str, fields: Mapping[str, Any]) -> str:
    record: dict[str, Any] = {
        "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "level": level,
        "event": event,
    }
    for key, value in fields.items():
        record[key] = _redact(key, value)
    return json.dumps(record, default=str, sort_keys=False)


def log(event: str, *, level: str = "info", stream: TextIO | None = None, **fields: Any) -> None:
    """Write one structured log line (`stream` defaults to stderr)."""
    out = stream if stream is not None else sys.stderr
    out.write(render(level, event, fields) + "\n")
    out.flush()
