"""Reading raw traffic (JSON lines, gzip, or Parquet) into typed canonical columns."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField, StructType

from runtime.errors import RuntimeJobError
from runtime.storage import Storage, as_dir

PORT_FIELDS = frozenset({"source_port", "destination_port"})
BYTES_FIELDS = frozenset({"source_bytes", "destination_bytes"})
TIME_FIELDS = frozenset({"event_start", "event_end"})
_GLOBS = {("json", "gzip"): "*.json.gz", ("json", "none"): "*.json", ("parquet", "none"): "*.parquet"}


def parse_time(column: Column) -> Column:
    """ISO-8601 text (with `Z` or offset) or epoch seconds / milliseconds to a timestamp."""
    trimmed = F.trim(column)
    number = trimmed.cast("double")
    epoch = F.when(number > 1e11, number / 1000).otherwise(number)
    return F.when(trimmed.rlike(r"^[0-9]+(\.[0-9]+)?$"), F.timestamp_seconds(epoch)).otherwise(
        trimmed.cast("timestamp")
    )


def typed(name: str, raw: Column) -> Column:
    """A canonical field from its raw string: ports 0..65535 as int, bytes as long, times as timestamp."""
    if name in PORT_FIELDS:
        port = F.trim(raw).cast("double")
        return F.when(port.between(0, 65535) & (port == F.floor(port)), port.cast("int")).alias(name)
    if name in BYTES_FIELDS:
        number = F.trim(raw).cast("double")
        return F.when(number == F.floor(number), number.cast("long")).alias(name)
    if name in TIME_FIELDS:
        return parse_time(raw).alias(name)
    return F.nullif(F.trim(raw), F.lit("")).alias(name)


def read_canonical(
    spark: Any,
    storage: Storage,
    prefix: str,
    fmt: str,
    compression: str | None,
    mapping: Mapping[str, str],
    passthrough: Sequence[str] = (),
) -> DataFrame:
    """Columns named by the keys of `mapping` (canonical -> source field) plus `passthrough` raw fields.

    Every source field is read as a string (schema given, never inferred), so a malformed value
    becomes null for the DQ rules instead of failing the batch.
    """
    prefix = as_dir(prefix)
    if storage.first_object(prefix) is None:
        raise RuntimeJobError(f"no input objects under {prefix}")
    sources = sorted(set(mapping.values()) | set(passthrough))
    glob = _GLOBS.get((fmt, (compression or "none") if fmt == "json" else "none"), "*")
    reader = spark.read.option("pathGlobFilter", glob)
    uri = storage.spark_uri(prefix)
    if fmt == "json":
        schema = StructType([StructField(name, StringType(), True) for name in sources])
        frame = reader.schema(schema).option("mode", "PERMISSIVE").json(uri)
    else:
        frame = reader.parquet(uri)
        absent = [name for name in sources if name not in frame.columns]
        if absent:
            raise RuntimeJobError(f"Parquet input under {prefix} lacks the mapped fields {absent}")
        frame = frame.select([F.col(f"`{name}`").cast("string").alias(name) for name in sources])
    columns = [typed(canonical, F.col(f"`{source}`")) for canonical, source in mapping.items()]
    columns += [F.col(f"`{name}`").alias(name) for name in passthrough if name not in mapping]
    return frame.select(columns)
