"""Parquet partitions through `Storage` with pyarrow: read one batch of a builder's output, write one batch.

Layout (RUNTIME_CONTRACT.md): `<prefix>/feature_spec_version=<v>/dt=<YYYY-MM-DD>/mini_batch_id=<id>/*.parquet`,
partition values in the folder names (Hive style, as Spark writes them), not in the files. Writers here keep
that layout: one file per leaf partition, named after the job, so a re-run replaces it.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from runtime.batch import BatchContext
from runtime.config.output import OutputSpec
from runtime.errors import RuntimeJobError, SpecError
from runtime.storage import LocalStorage, S3Storage, Storage, as_dir, join, parse_s3_uri

if TYPE_CHECKING:
    import pyarrow as pa


def list_parquet(storage: Storage, prefix: str) -> list[str]:
    """Every `*.parquet` object below `prefix`, sorted; folders starting with `_` or `.` are skipped."""
    prefix = as_dir(prefix)
    found: list[str] = []
    if isinstance(storage, LocalStorage):
        root = storage.local_path(prefix)
        if root.is_dir():
            for path in root.rglob("*.parquet"):
                relative = path.relative_to(root).parts
                if not any(part.startswith(("_", ".")) for part in relative):
                    found.append(prefix + "/".join(relative))
    elif isinstance(storage, S3Storage):
        loc = parse_s3_uri(prefix)
        paginator = storage.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=loc.bucket, Prefix=loc.key):
            for obj in page.get("Contents", []):
                relative = obj["Key"][len(loc.key) :].split("/")
                if obj["Key"].endswith(".parquet") and not any(p.startswith(("_", ".")) for p in relative):
                    found.append(f"s3://{loc.bucket}/{obj['Key']}")
    else:
        raise RuntimeJobError(f"cannot list Parquet files on {type(storage).__name__}")
    return sorted(found)


def _partition_values(uri: str, prefix: str) -> dict[str, str]:
    values = {}
    for part in uri[len(as_dir(prefix)) :].split("/")[:-1]:
        name, sep, value = part.partition("=")
        if sep:
            values[name] = value
    return values


def read_files(storage: Storage, prefix: str, uris: Sequence[str]) -> pa.Table | None:
    """The files as one table; Hive partition values become string columns (unless the file has them)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    tables = []
    for uri in uris:
        table = pq.read_table(pa.BufferReader(storage.read_bytes(uri)))
        for name, value in _partition_values(uri, prefix).items():
            if name not in table.column_names:
                table = table.append_column(name, pa.array([value] * table.num_rows, pa.string()))
        tables.append(normalize_timestamps(table))
    if not tables:
        return None
    return pa.concat_tables(tables, promote_options="permissive")


def read_batch(storage: Storage, prefix: str, batch: BatchContext) -> pa.Table | None:
    """The rows of `batch` in a builder's output: its `mini_batch_id=` folder, else its `dt=` folder filtered
    on the `mini_batch_id` column. None when the batch has no files there."""
    import pyarrow.compute as pc

    day = join(prefix, f"feature_spec_version={batch.feature_spec_version}", f"dt={batch.dt}")
    leaf = join(day, f"mini_batch_id={batch.mini_batch_id}")
    files = list_parquet(storage, leaf)
    if files:
        return read_files(storage, prefix, files)
    table = read_files(storage, prefix, list_parquet(storage, day))
    if table is None or "mini_batch_id" not in table.column_names:
        return None
    selected = table.filter(pc.equal(table["mini_batch_id"], batch.mini_batch_id))
    return selected if selected.num_rows else None


def normalize_timestamps(table: pa.Table) -> pa.Table:
    """Every timestamp as microseconds in UTC: Spark's `timestamp` (INT96 or micros) and what Spark reads back."""
    import pyarrow as pa

    target = pa.timestamp("us", tz="UTC")
    for index, column in enumerate(table.schema):
        if pa.types.is_timestamp(column.type) and column.type != target:
            source = table.column(index)
            if column.type.tz is None:
                source = source.cast(pa.timestamp(column.type.unit, tz="UTC"))
            table = table.set_column(index, column.name, source.cast(target, safe=False))
    return table


@dataclass(frozen=True)
class WrittenPartition:
    uri: str
    rows: int
    values: Mapping[str, str]


def effective_partition_keys(output: OutputSpec) -> tuple[str, ...]:
    """The spec's keys plus `mini_batch_id` when idempotent (as `runtime.spark_io.writers` does)."""
    keys = tuple(output.partition_keys)
    if output.idempotent and "mini_batch_id" not in keys:
        keys += ("mini_batch_id",)
    return keys


def write_partitioned(
    storage: Storage, table: pa.Table, output: OutputSpec, file_stem: str, where: str, unique: str = ""
) -> list[WrittenPartition]:
    """One Parquet file per distinct partition value combination; idempotent modes replace the file."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    keys = effective_partition_keys(output)
    missing = [key for key in keys if key not in table.column_names]
    if missing:
        raise SpecError(f"{where}: partition_keys {missing} are not output columns ({', '.join(table.column_names)})")
    table = normalize_timestamps(table)
    combos = table.select(list(keys)).group_by(list(keys)).aggregate([]).to_pylist() if keys else [{}]
    name = f"part-{file_stem}.parquet" if output.idempotent or not unique else f"part-{file_stem}-{unique}.parquet"
    nulls = sorted({key for combo in combos for key in keys if combo[key] is None})
    if nulls:
        raise RuntimeJobError(f"{where}: partition key column(s) {nulls} hold nulls")
    written = []
    for combo in sorted(combos, key=lambda c: [str(c[k]) for k in keys]):
        mask = None
        for key in keys:
            condition = pc.equal(table[key], pa.scalar(combo[key], table.schema.field(key).type))
            mask = condition if mask is None else pc.and_(mask, condition)
        part = table.filter(mask) if mask is not None else table
        part = part.drop_columns(list(keys))
        uri = join(output.s3_prefix, *(f"{key}={combo[key]}" for key in keys), name)
        sink = io.BytesIO()
        pq.write_table(part, sink, compression="snappy")
        storage.write_bytes(uri, sink.getvalue())
        written.append(WrittenPartition(uri, part.num_rows, {key: str(combo[key]) for key in keys}))
    return written
