"""Typed access to a spec payload, with errors that name the item and the missing path."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from runtime.errors import SpecError

_MISSING = object()


def _describe(value: Any) -> str:
    return type(value).__name__ if value is not None else "null"


class PayloadReader:
    """Reads dotted paths (`input.s3_prefix`) from a payload; `where` names the item in errors."""

    def __init__(self, payload: Mapping[str, Any], where: str) -> None:
        self.payload = payload
        self.where = where

    def fail(self, path: str, problem: str) -> SpecError:
        return SpecError(f"{self.where}: spec.{path} {problem}")

    def raw(self, path: str, default: Any = _MISSING) -> Any:
        node: Any = self.payload
        for part in path.split("."):
            if not isinstance(node, Mapping) or part not in node or node[part] is None:
                if default is _MISSING:
                    raise self.fail(path, "is required but missing")
                return default
            node = node[part]
        return node

    def has(self, path: str) -> bool:
        return self.raw(path, None) is not None

    def string(self, path: str, default: Any = _MISSING) -> Any:
        value = self.raw(path, default)
        if value is default and default is not _MISSING:
            return value
        if not isinstance(value, str) or not value:
            raise self.fail(path, f"must be a non-empty string (got {_describe(value)})")
        return value

    def boolean(self, path: str, default: bool) -> bool:
        value = self.raw(path, default)
        if not isinstance(value, bool):
            raise self.fail(path, f"must be true or false (got {value!r})")
        return value

    def mapping(self, path: str, default: Any = _MISSING) -> Any:
        value = self.raw(path, default)
        if value is default and default is not _MISSING:
            return value
        if not isinstance(value, Mapping):
            raise self.fail(path, f"must be a mapping (got {_describe(value)})")
        return value

    def sequence(self, path: str, default: Any = _MISSING) -> Any:
        value = self.raw(path, default)
        if value is default and default is not _MISSING:
            return value
        if isinstance(value, str | bytes) or not isinstance(value, Sequence):
            raise self.fail(path, f"must be a list (got {_describe(value)})")
        return value

    def strings(self, path: str, default: Any = _MISSING) -> Any:
        value = self.sequence(path, default)
        if value is default and default is not _MISSING:
            return value
        bad = [item for item in value if not isinstance(item, str) or not item]
        if bad:
            raise self.fail(path, f"must be a list of non-empty strings (bad entries: {bad!r})")
        return tuple(value)

    def string_map(self, path: str, default: Any = _MISSING) -> Any:
        value = self.mapping(path, default)
        if value is default and default is not _MISSING:
            return value
        bad = sorted(str(k) for k, v in value.items() if not isinstance(v, str) or not v)
        if bad:
            raise self.fail(path, f"values must be non-empty strings (bad keys: {', '.join(bad)})")
        return dict(value)

    def number(self, path: str, default: Decimal | None) -> Decimal | None:
        """A spec number kept exact: DynamoDB gives Decimal, YAML/JSON floats are read through their repr."""
        value = self.raw(path, default)
        if value is None or isinstance(value, Decimal):
            return value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(path, f"must be a number (got {value!r})")
        return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)

    def first_string(self, *paths: str) -> str:
        for path in paths:
            if self.has(path):
                return str(self.string(path))
        raise SpecError(f"{self.where}: one of {', '.join('spec.' + p for p in paths)} is required")


@dataclass(frozen=True)
class JobPayload:
    """Typed accessor for jobs without a dedicated dataclass (fg_a_builder, if_training, ...)."""

    project_name: str
    job_name: str
    feature_spec_version: str | None
    payload: Mapping[str, Any]
    item: Mapping[str, Any] = field(default_factory=dict)

    @property
    def reader(self) -> PayloadReader:
        version = f"#{self.feature_spec_version}" if self.feature_spec_version else ""
        return PayloadReader(self.payload, f"{self.project_name}/{self.job_name}{version}")

    def get(self, path: str, default: Any = None) -> Any:
        return self.reader.raw(path, default)

    def require(self, path: str) -> Any:
        return self.reader.raw(path)

    def require_str(self, path: str) -> str:
        return str(self.reader.string(path))

    def first_str(self, *paths: str) -> str:
        """The first present of alternative paths, e.g. `delta_input.s3_prefix` or `delta_s3_prefix`."""
        return self.reader.first_string(*paths)


@dataclass(frozen=True)
class ProjectParameters(JobPayload):
    """The `project_parameters` item: payload under `spec` (or legacy `parameters`)."""

    @property
    def defaults(self) -> Mapping[str, Any]:
        return dict(self.reader.mapping("defaults", {}))

    def default(self, name: str, fallback: Any = None) -> Any:
        return self.defaults.get(name, fallback)
