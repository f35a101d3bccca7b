"""The batch a builder run is about: identity, window and where its raw files are."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from runtime.errors import JobUsageError, RuntimeJobError
from runtime.orchestration.batch_key import representative_object
from runtime.orchestration.window import batch_window, to_utc
from runtime.storage import Storage, as_dir

BATCH_COLUMNS: tuple[str, ...] = (
    "project_name",
    "feature_spec_version",
    "mini_batch_id",
    "batch_start_ts",
    "batch_end_ts",
    "dt",
)
"""The batch's columns as the row-level builders (delta, pair counts) stamp them on every row
(`runtime.spark_io.batch_columns.with_batch_columns`)."""


@dataclass(frozen=True)
class BatchContext:
    project_name: str
    feature_spec_version: str
    mini_batch_id: str
    batch_start_ts_iso: str
    batch_end_ts_iso: str
    mini_batch_s3_prefix: str | None = None

    def metrics_header(self, job: str) -> dict[str, Any]:
        """The identity every job's metrics file starts with."""
        return {
            "job": job,
            "project_name": self.project_name,
            "feature_spec_version": self.feature_spec_version,
            "mini_batch_id": self.mini_batch_id,
            "batch_start_ts_iso": self.batch_start_ts_iso,
            "batch_end_ts_iso": self.batch_end_ts_iso,
        }

    @property
    def dt(self) -> str:
        """The partition date: the batch start's UTC date, so one batch never spans two `dt` folders."""
        return f"{to_utc(self.batch_start_ts_iso):%Y-%m-%d}"


def resolve_batch(
    storage: Storage,
    *,
    project_name: str,
    feature_spec_version: str,
    mini_batch_id: str | None,
    mini_batch_s3_prefix: str | None,
    batch_start_ts_iso: str | None,
    batch_end_ts_iso: str | None,
) -> BatchContext:
    """Fill what orchestration did not pass: the id from the prefix, the window from LastModified."""
    prefix = as_dir(mini_batch_s3_prefix) if mini_batch_s3_prefix else None
    batch_id = mini_batch_id or (prefix.rstrip("/").rsplit("/", 1)[-1] if prefix else None)
    if not batch_id:
        raise JobUsageError("pass --mini-batch-id or --mini-batch-s3-prefix")
    if bool(batch_start_ts_iso) != bool(batch_end_ts_iso):
        raise JobUsageError("pass both --batch-start-ts-iso and --batch-end-ts-iso, or neither")
    if not batch_start_ts_iso:
        first = (representative_object(storage, prefix) or storage.first_object(prefix)) if prefix else None
        if first is None:
            raise RuntimeJobError("no batch window given and no object under --mini-batch-s3-prefix to derive it from")
        batch_start_ts_iso, batch_end_ts_iso = batch_window(first.last_modified)
    start, end = to_utc(batch_start_ts_iso), to_utc(str(batch_end_ts_iso))
    if end < start:
        raise JobUsageError(f"batch end {batch_end_ts_iso} is before batch start {batch_start_ts_iso}")
    return BatchContext(
        project_name, feature_spec_version, batch_id, str(batch_start_ts_iso), str(batch_end_ts_iso), prefix
    )
