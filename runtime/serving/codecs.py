"""Request and response bodies of `POST /invocations` (documented in docs/runtime.md, "Inference and serving").

Requests (`Content-Type`):
- `text/csv`: one record per line, values in the model's `feature_names` order, no header; an empty field
  is a missing value. UTF-8.
- `application/json`: `{"instances": [[v1, v2, ...], ...]}` (arrays in feature order) or
  `{"instances": [{"<feature>": v, ...}, ...]}` (objects by feature name); `null` or an absent name is missing.
Responses (`Accept`, default `application/json`):
- `application/json`: `{"model_version": "<version>", "scores": [s1, s2, ...]}`, one score per record, in order.
- `text/csv`: one score per line.
Floats are written with Python's shortest round-trip repr, so a score survives the trip exactly.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

CSV = "text/csv"
JSON = "application/json"
CONTENT_TYPES = (CSV, JSON)
DEFAULT_ACCEPT = JSON

Row = list[float | None]


@dataclass(frozen=True)
class CodecError(Exception):
    """A body the server cannot read (HTTP 400), or a media type it does not speak (415 / 406)."""

    status: int
    message: str

    def __str__(self) -> str:
        return self.message


def media_type(header: str | None) -> str:
    """`text/csv; charset=utf-8` -> `text/csv`."""
    return (header or "").split(";", 1)[0].strip().lower()


def _number(value: Any, where: str) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise CodecError(400, f"{where}: expected a number, got a boolean")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise CodecError(400, f"{where}: expected a number, got {value!r}") from None
    if not math.isfinite(number):
        raise CodecError(400, f"{where}: expected a finite number, got {value!r}")
    return number


def decode_rows(body: bytes, content_type: str, feature_names: Sequence[str]) -> list[Row]:
    kind = media_type(content_type)
    if kind == CSV:
        return _decode_csv(body, len(feature_names))
    if kind == JSON:
        return _decode_json(body, feature_names)
    raise CodecError(415, f"unsupported Content-Type {content_type!r} (use {' or '.join(CONTENT_TYPES)})")


def _decode_csv(body: bytes, width: int) -> list[Row]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as err:
        raise CodecError(400, f"text/csv body is not UTF-8 ({err.reason} at byte {err.start})") from None
    rows: list[Row] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split(",")
        if len(fields) != width:
            raise CodecError(400, f"line {number}: {len(fields)} values, the model takes {width}")
        rows.append([_number(field.strip(), f"line {number} column {i + 1}") for i, field in enumerate(fields)])
    return rows


def _decode_json(body: bytes, feature_names: Sequence[str]) -> list[Row]:
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CodecError(400, f"application/json body is not valid JSON ({err})") from None
    instances = document.get("instances") if isinstance(document, dict) else None
    if not isinstance(instances, list):
        raise CodecError(400, 'application/json body must be {"instances": [...]}')
    known = set(feature_names)
    rows: list[Row] = []
    for index, instance in enumerate(instances):
        where = f"instances[{index}]"
        if isinstance(instance, list):
            if len(instance) != len(feature_names):
                raise CodecError(400, f"{where}: {len(instance)} values, the model takes {len(feature_names)}")
            rows.append([_number(v, f"{where}[{i}]") for i, v in enumerate(instance)])
        elif isinstance(instance, dict):
            unknown = sorted(set(instance) - known)
            if unknown:
                raise CodecError(400, f"{where}: unknown feature(s) {unknown}")
            rows.append([_number(instance.get(name), f"{where}.{name}") for name in feature_names])
        else:
            raise CodecError(400, f"{where}: expected an array or an object")
    return rows


def encode_scores(scores: Sequence[float], model_version: str, accept: str | None) -> tuple[bytes, str]:
    kind = media_type(accept) or DEFAULT_ACCEPT
    if kind in ("*/*", JSON):
        body = json.dumps({"model_version": model_version, "scores": [float(s) for s in scores]})
        return body.encode("utf-8"), JSON
    if kind == CSV:
        return "".join(f"{float(s)!r}\n" for s in scores).encode("utf-8"), CSV
    raise CodecError(406, f"unsupported Accept {accept!r} (use {' or '.join(CONTENT_TYPES)})")


def decode_scores(body: bytes, content_type: str) -> tuple[list[float], str | None]:
    """The client side of `encode_scores`: the scores and, for JSON, the model version that produced them."""
    kind = media_type(content_type)
    if kind == CSV:
        return [float(line) for line in body.decode("utf-8").splitlines() if line.strip()], None
    document = json.loads(body)
    if not isinstance(document, dict) or not isinstance(document.get("scores"), list):
        raise ValueError('response is not {"scores": [...]}')
    version = document.get("model_version")
    return [float(s) for s in document["scores"]], str(version) if version is not None else None
