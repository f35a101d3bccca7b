"""Reading raw traffic (JSON lines, gzip, or Parquet) into typed canonical columns."""

from __future__ import annotations

import gzip
import io
import re
import zlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField, StructType

from runtime.errors import RuntimeJobError
from runtime.storage import Storage, as_dir

PORT_FIELDS = frozenset({"source_port", "destination_port"})
BYTES_FIELDS = frozenset({"source_bytes", "destination_bytes"})
TIME_FIELDS = frozenset({"event_start", "event_end"})
_READ_FAILURE = re.compile(r"Encountered error while reading file (?P<file>\S+?)\.? Details:")
_GZIP_CAUSES = (
    "Unexpected end of input stream",
    "not a gzip file",
    "Not in GZIP format",
    "Corrupt GZIP trailer",
    "invalid stored block lengths",
    "invalid block type",
    "invalid distance",
    "ZipException",
)
_GLOBS = {("json", "gzip"): "*.json.gz", ("json", "none"): "*.json", ("parquet", "none"): "*.parquet"}


PANOS_TIME = r"^[0-9]{4}/[0-9]{2}/[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$"
# Digits with an optional all-zero fraction ("100", "-5", "100.0"); never "100d", "80f" or "1e3", which
# Java's double parser accepts. The integer part is cast straight to long, so bytes above 2^53 stay exact.
INTEGRAL = r"^([+-]?[0-9]+)(\.0*)?$"


def parse_time(column: Column) -> Column:
    """ISO-8601 text (with `Z` or offset), PAN-OS `yyyy/MM/dd HH:mm:ss` (read as UTC), or epoch seconds /
    milliseconds, to a timestamp."""
    trimmed = F.trim(column)
    number = trimmed.cast("double")
    epoch = F.when(number > 1e11, number / 1000).otherwise(number)
    return (
        F.when(trimmed.rlike(r"^[0-9]+(\.[0-9]+)?$"), F.timestamp_seconds(epoch))
        # only for text of exactly that shape: the parser is never asked to guess
        .when(trimmed.rlike(PANOS_TIME), F.to_timestamp(trimmed, "yyyy/MM/dd HH:mm:ss"))
        .otherwise(trimmed.cast("timestamp"))
    )


def integral(raw: Column) -> Column:
    """The whole number written in `raw` as a long; null for anything else (or beyond the long range)."""
    digits = F.regexp_extract(F.trim(raw), INTEGRAL, 1)
    return F.when(digits != "", digits.cast("long"))


def typed(name: str, raw: Column) -> Column:
    """A canonical field from its raw string: ports 0..65535 as int, bytes as long, times as timestamp."""
    if name in PORT_FIELDS:
        port = integral(raw)
        return F.when(port.between(0, 65535), port.cast("int")).alias(name)
    if name in BYTES_FIELDS:
        return integral(raw).alias(name)
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


def _storage_uri(storage: Storage, spark_file: str) -> str:
    """`file://<root>/bucket/key` back to `s3://bucket/key` for local storage; S3 URIs as they are."""
    root = getattr(storage, "root", None)
    local = f"file://{root}/" if root is not None else None
    for prefix in filter(None, (local, f"file:{root}/" if root is not None else None)):
        if spark_file.startswith(prefix):
            return "s3://" + spark_file[len(prefix) :]
    return spark_file.replace("s3a://", "s3://", 1)


def first_corrupt_gzip(storage: Storage, prefix: str) -> str | None:
    """The first `.gz` object under `prefix` that does not decompress to its end (failure path only)."""
    for info in storage.list_objects(prefix):
        if not info.uri.endswith(".gz"):
            continue
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(storage.read_bytes(info.uri))) as stream:
                while stream.read(1 << 20):
                    pass
        except (OSError, EOFError, zlib.error):
            return info.uri
    return None


@contextmanager
def corrupt_input_as_error(storage: Storage, prefix: str | None = None) -> Iterator[None]:
    """Run the Spark action(s) of a builder; a file Spark cannot decompress becomes one readable line.

    Spark reports it as a Py4JJavaError of some 300 lines. The file is named in it only when the
    failure happens as the file is opened; otherwise the objects under `prefix` are checked.
    """
    try:
        yield
    except Exception as err:
        text = str(err)
        cause = next((c for c in _GZIP_CAUSES if c in text), None)
        if cause is None:
            raise
        found = _READ_FAILURE.search(text)
        name = (
            _storage_uri(storage, found["file"]) if found else (first_corrupt_gzip(storage, prefix) if prefix else None)
        )
        raise RuntimeJobError(f"{name or prefix or 'an input file'}: corrupt gzip ({cause})") from None
