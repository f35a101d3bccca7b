"""Packing feature rows into request bodies bounded by a record count and a byte size.

The byte size is exact (the body that will be sent), so `max_payload_mb` holds for every request; a single
record bigger than the limit cannot be sent at all and is an error naming it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from runtime.errors import RuntimeJobError
from runtime.serving.codecs import CSV, JSON, media_type

MIB = 1024 * 1024
_JSON_OPEN, _JSON_SEP, _JSON_CLOSE = b'{"instances": [', b", ", b"]}"


@dataclass(frozen=True)
class Payload:
    index: int
    start: int  # first row (inclusive) of the rows handed to `pack`
    stop: int  # last row (exclusive)
    body: bytes

    @property
    def records(self) -> int:
        return self.stop - self.start


def _record(row: Sequence[float | None], kind: str) -> bytes:
    if kind == CSV:
        return (",".join("" if v is None else repr(float(v)) for v in row) + "\n").encode("utf-8")
    return json.dumps([None if v is None else float(v) for v in row]).encode("utf-8")


def _body(parts: list[bytes], kind: str) -> bytes:
    return b"".join(parts) if kind == CSV else _JSON_OPEN + _JSON_SEP.join(parts) + _JSON_CLOSE


def _size(parts_bytes: int, count: int, kind: str) -> int:
    if kind == CSV:
        return parts_bytes
    return len(_JSON_OPEN) + parts_bytes + len(_JSON_SEP) * max(count - 1, 0) + len(_JSON_CLOSE)


def pack(rows: Sequence[Sequence[float | None]], content_type: str, max_records: int, max_bytes: int) -> list[Payload]:
    """Consecutive rows into as few bodies as the bounds allow (greedy, order kept)."""
    kind = media_type(content_type)
    if kind not in (CSV, JSON):
        raise RuntimeJobError(f"content_type {content_type!r} is not supported (use {CSV} or {JSON})")
    payloads: list[Payload] = []
    parts: list[bytes] = []
    parts_bytes, start = 0, 0
    for index, row in enumerate(rows):
        encoded = _record(row, kind)
        if _size(len(encoded), 1, kind) > max_bytes:
            raise RuntimeJobError(
                f"record {index} alone encodes to {_size(len(encoded), 1, kind)} bytes, over max_payload_mb "
                f"({max_bytes} bytes)"
            )
        fits = len(parts) < max_records and _size(parts_bytes + len(encoded), len(parts) + 1, kind) <= max_bytes
        if parts and not fits:
            payloads.append(Payload(len(payloads), start, index, _body(parts, kind)))
            parts, parts_bytes, start = [], 0, index
        parts.append(encoded)
        parts_bytes += len(encoded)
    if parts:
        payloads.append(Payload(len(payloads), start, len(rows), _body(parts, kind)))
    return payloads
