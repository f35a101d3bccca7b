"""Spec blocks shared by `inference_predictions` and `pipeline_prediction_feature_join`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from runtime.config.output import OutputSpec
from runtime.config.payload import PayloadReader
from runtime.errors import SpecError
from runtime.features.fg_a import MODEL_JOIN_KEYS
from runtime.storage import as_dir, join

DEFAULT_JOIN_KEYS: tuple[str, ...] = MODEL_JOIN_KEYS
PREDICTION_PARTITION_KEYS: tuple[str, ...] = ("feature_spec_version", "dt")


@dataclass(frozen=True)
class FeatureInput:
    name: str
    s3_prefix: str
    dataset: str
    required: bool = True
    columns: tuple[str, ...] | None = None
    """Read only these columns (plus the join keys)."""


def number(
    r: PayloadReader,
    path: str,
    default: float,
    *,
    minimum: float = 0.0,
    maximum: float | None = None,
    exclusive_minimum: bool = False,
) -> float:
    value = r.raw(path, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise r.fail(path, f"must be a number (got {value!r})")
    low_ok = value > minimum if exclusive_minimum else value >= minimum
    if not low_ok or (maximum is not None and value > maximum):
        bound = f"{'>' if exclusive_minimum else '>='} {minimum}" + (f" and <= {maximum}" if maximum else "")
        raise r.fail(path, f"must be {bound} (got {value!r})")
    return float(value)


def integer(r: PayloadReader, path: str, default: int, *, minimum: int = 0) -> int:
    value = r.raw(path, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise r.fail(path, f"must be an integer >= {minimum} (got {value!r})")
    return value


def feature_inputs(r: PayloadReader, path: str = "feature_inputs") -> tuple[FeatureInput, ...]:
    """The bundles in name order (a DynamoDB map keeps no order; the join is the same either way)."""
    raw = r.mapping(path)
    if not raw:
        raise r.fail(path, "must name at least one feature bundle")
    inputs = []
    for name in sorted(raw):
        entry = raw[name]
        if not isinstance(entry, Mapping):
            raise r.fail(f"{path}.{name}", "must be a mapping")
        inputs.append(
            FeatureInput(
                name=name,
                s3_prefix=r.string(f"{path}.{name}.s3_prefix"),
                dataset=r.string(f"{path}.{name}.dataset", name),
                required=r.boolean(f"{path}.{name}.required", True),
                columns=r.strings(f"{path}.{name}.columns", None),
            )
        )
    return tuple(inputs)


def join_keys(r: PayloadReader) -> tuple[str, ...]:
    keys: tuple[str, ...] = r.strings("join_keys", DEFAULT_JOIN_KEYS)
    if not keys or len(set(keys)) != len(keys):
        raise r.fail("join_keys", f"must be a non-empty list without repeats (got {list(keys)})")
    return keys


def dataset_output(r: PayloadReader, path: str) -> tuple[OutputSpec, str | None]:
    """An output block whose partition keys default to feature_spec_version + dt (the seed's default); a
    `dataset` is appended to the prefix (`<s3_prefix>/<dataset>/`, the common schema's dataset_output rule)."""
    spec = OutputSpec.read(r, path)
    keys = spec.partition_keys if r.has(f"{path}.partition_keys") else PREDICTION_PARTITION_KEYS
    dataset = r.string(f"{path}.dataset", None)
    prefix = as_dir(join(spec.s3_prefix, dataset)) if dataset else spec.s3_prefix
    return OutputSpec(prefix, spec.format, keys, spec.write_mode), dataset


def check_distinct(where: str, **columns: str) -> None:
    names = list(columns.values())
    if len(set(names)) != len(names):
        raise SpecError(f"{where}: columns must differ ({columns})")
