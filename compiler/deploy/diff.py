"""Semantic comparison: one canonical form, content hashes over it, and field-level diffs old -> new.

Key order and number formatting never count (`1e-6` == `0.000001` == `1E-6`, `1.0` == `1`); types do
(`"6"` != `6`). DynamoDB typed values are first turned into plain values (Decimal numbers, `SetValue`s).
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any


class SetValue(tuple[Any, ...]):
    """A DynamoDB string/number/binary set, kept sorted so its order never counts."""


class _Missing:
    def __repr__(self) -> str:
        return "(absent)"


MISSING: Any = _Missing()


def number_text(value: Decimal | int | float) -> str:
    """Canonical number text: fixed notation, no trailing zeros, no negative zero."""
    number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    if not number.is_finite():
        return str(number)
    if number == 0:
        return "0"
    return format(number.normalize(), "f")


def from_typed(value: dict[str, Any]) -> Any:
    """One DynamoDB JSON attribute value (`{"S": ...}`, `{"M": ...}`, ...) as a plain value."""
    ((tag, inner),) = value.items()
    if tag == "S":
        return inner
    if tag == "N":
        return Decimal(inner)
    if tag == "BOOL":
        return bool(inner)
    if tag == "NULL":
        return None
    if tag == "M":
        return {k: from_typed(v) for k, v in inner.items()}
    if tag == "L":
        return [from_typed(v) for v in inner]
    if tag == "B":
        return inner if isinstance(inner, bytes) else base64.b64decode(inner)
    if tag in ("SS", "NS", "BS"):
        members = [from_typed({tag[0]: member}) for member in inner]
        return SetValue(sorted(members, key=canonical))
    raise ValueError(f"unknown DynamoDB type {tag!r}")


def plain_item(item: dict[str, Any]) -> dict[str, Any]:
    return {name: from_typed(value) for name, value in item.items()}


def canonical(value: Any) -> str:
    """Canonical JSON text of a plain value: sorted keys, canonical numbers, tagged sets and binaries."""
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int | float | Decimal):
        return number_text(value)
    if isinstance(value, SetValue):
        return '{"$set":[' + ",".join(sorted(canonical(v) for v in value)) + "]}"
    if isinstance(value, bytes):
        return '{"$binary":"' + base64.b64encode(value).decode("ascii") + '"}'
    if isinstance(value, dict):
        parts = (json.dumps(str(k), ensure_ascii=False) + ":" + canonical(value[k]) for k in sorted(value))
        return "{" + ",".join(parts) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(canonical(v) for v in value) + "]"
    raise TypeError(f"cannot compare a {type(value).__name__}")


def content_hash(value: Any) -> str:
    return hashlib.sha256(canonical(value).encode("utf-8")).hexdigest()


def same(left: Any, right: Any) -> bool:
    return canonical(left) == canonical(right)


@dataclass(frozen=True)
class FieldChange:
    path: str
    old: Any
    new: Any

    @property
    def verb(self) -> str:
        if self.old is MISSING:
            return "added"
        return "removed" if self.new is MISSING else "changed"

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "change": self.verb, "old": show(self.old), "new": show(self.new)}


def _child(path: str, key: str) -> str:
    if key.replace("_", "").replace("-", "").isalnum():
        return f"{path}.{key}" if path else key
    return f"{path}[{json.dumps(key, ensure_ascii=False)}]"


def diff(old: Any, new: Any, path: str = "") -> list[FieldChange]:
    """Field-level differences; a changed scalar, list length or type is reported at its own path."""
    if old is not MISSING and new is not MISSING and canonical(old) == canonical(new):
        return []
    if isinstance(old, dict) and isinstance(new, dict):
        changes: list[FieldChange] = []
        for key in sorted(set(old) | set(new)):
            changes.extend(diff(old.get(key, MISSING), new.get(key, MISSING), _child(path, str(key))))
        return changes
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [c for i, (a, b) in enumerate(zip(old, new, strict=True)) for c in diff(a, b, f"{path}[{i}]")]
    return [FieldChange(path or "(item)", old, new)]


def show(value: Any, limit: int = 200) -> str:
    """A short readable rendering of a plain value for diffs (canonical JSON, truncated)."""
    if value is MISSING:
        return "(absent)"
    text = canonical(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
