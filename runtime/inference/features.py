"""The feature rows of one batch: every bundle's batch partition, joined on the join keys.

Bundles are joined in name order (fg_a, then fg_c) with an inner join; a column a later bundle repeats
(the identity columns every builder stamps) is taken from the first. A required bundle with no rows for the
batch is an error naming its prefix; an optional one is skipped and reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from runtime.batch import BATCH_COLUMNS, BatchContext
from runtime.errors import RuntimeJobError
from runtime.features.fg_a import NOT_FEATURES
from runtime.inference.spec_parts import FeatureInput
from runtime.inference.tables import read_batch
from runtime.storage import Storage

if TYPE_CHECKING:
    import pyarrow as pa

BUNDLE_NOT_FEATURES: frozenset[str] = NOT_FEATURES | frozenset(BATCH_COLUMNS)
"""Never model features. A bundle is any builder's output, not only FG-A/FG-C: the row-level builders stamp the
batch bounds (`batch_start_ts`, `batch_end_ts`) besides the batch identity FG-A carries."""


@dataclass
class JoinedFeatures:
    table: pa.Table
    used: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)


def read_feature_bundles(
    storage: Storage, inputs: Sequence[FeatureInput], join_keys: Sequence[str], batch: BatchContext, where: str
) -> JoinedFeatures:
    tables: list[tuple[FeatureInput, pa.Table]] = []
    skipped: list[dict[str, Any]] = []
    for bundle in inputs:
        table = read_batch(storage, bundle.s3_prefix, batch)
        if table is None:
            if bundle.required:
                raise RuntimeJobError(
                    f"{where}: required feature input {bundle.name!r} (dataset {bundle.dataset!r}) has no rows for "
                    f"batch {batch.mini_batch_id} (dt={batch.dt}) under {bundle.s3_prefix}"
                )
            skipped.append(
                {
                    "input": bundle.name,
                    "dataset": bundle.dataset,
                    "s3_prefix": bundle.s3_prefix,
                    "reason": "no rows for this batch",
                }
            )
            continue
        absent = [key for key in join_keys if key not in table.column_names]
        if absent:
            raise RuntimeJobError(f"{where}: feature input {bundle.name!r} lacks the join keys {absent}")
        if bundle.columns is not None:
            unknown = [name for name in bundle.columns if name not in table.column_names]
            if unknown:
                raise RuntimeJobError(f"{where}: feature input {bundle.name!r} has no columns {unknown}")
            table = table.select(list(dict.fromkeys([*join_keys, *bundle.columns])))
        tables.append((bundle, table))
    if not tables:
        raise RuntimeJobError(f"{where}: no feature input has rows for batch {batch.mini_batch_id}")
    joined = tables[0][1]
    for _, table in tables[1:]:
        extra = [name for name in table.column_names if name not in joined.column_names]
        joined = joined.join(table.select([*join_keys, *extra]), keys=list(join_keys), join_type="inner")
    joined = joined.sort_by([(key, "ascending") for key in join_keys])
    used = [{"input": b.name, "dataset": b.dataset, "s3_prefix": b.s3_prefix, "rows": t.num_rows} for b, t in tables]
    return JoinedFeatures(joined, used, skipped)


def numeric_feature_columns(table: pa.Table, join_keys: Sequence[str]) -> list[str]:
    """The numeric, non-identity, non-key columns in table order (the default payload selection)."""
    import pyarrow as pa

    skip = BUNDLE_NOT_FEATURES | set(join_keys)
    return [
        f.name
        for f in table.schema
        if f.name not in skip and (pa.types.is_integer(f.type) or pa.types.is_floating(f.type))
    ]


def feature_rows(table: pa.Table, columns: Sequence[str], where: str) -> list[list[float | None]]:
    """Rows of the named columns as floats, null (and NaN) as None."""
    absent = [name for name in columns if name not in table.column_names]
    if absent:
        raise RuntimeJobError(f"{where}: feature columns {absent} are not in the joined features")
    values = [table.column(name).to_pylist() for name in columns]
    rows: list[list[float | None]] = []
    for index in range(table.num_rows):
        row: list[float | None] = []
        for column in values:
            value = column[index]
            row.append(None if value is None or value != value else float(value))
        rows.append(row)
    return rows
