"""Batch identity from an ingestion key: `[<vendor>/]<org1>/<org2>/<project>/YYYY/MM/dd/<batch>/<file>.json.gz`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from runtime.contract import BATCH_FILE_SUFFIX, BATCH_KEY_LAYOUT, org_key
from runtime.errors import BatchKeyError
from runtime.storage import ObjectInfo, Storage, as_dir

_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._=+-]*$")


@dataclass(frozen=True)
class BatchKey:
    bucket: str | None
    vendor_prefix: str
    org1: str
    org2: str
    project_name: str
    batch_date: date
    mini_batch_id: str
    file_name: str

    @property
    def org_key(self) -> str:
        return org_key(self.org1, self.org2)

    @property
    def mini_batch_prefix_key(self) -> str:
        """The folder key (no bucket), ending in `/`."""
        vendor = f"{self.vendor_prefix}/" if self.vendor_prefix else ""
        day = self.batch_date
        return f"{vendor}{self.org1}/{self.org2}/{self.project_name}/{day:%Y}/{day:%m}/{day:%d}/{self.mini_batch_id}/"

    @property
    def mini_batch_s3_prefix(self) -> str | None:
        """`s3://<bucket>/<...>/<mini_batch_id>/`; None when neither a bucket nor an s3:// URI was given."""
        return f"s3://{self.bucket}/{self.mini_batch_prefix_key}" if self.bucket else None


def _fail(s3_key: str, problem: str) -> BatchKeyError:
    return BatchKeyError(f"S3 key {s3_key!r} does not fit the batch layout {BATCH_KEY_LAYOUT}: {problem}")


def _split_uri(s3_key: str, bucket: str | None) -> tuple[str | None, str]:
    for scheme in ("s3://", "s3a://"):
        if s3_key.startswith(scheme):
            uri_bucket, _, key = s3_key[len(scheme) :].partition("/")
            if bucket and bucket != uri_bucket:
                raise _fail(s3_key, f"bucket {uri_bucket!r} differs from the given bucket {bucket!r}")
            return uri_bucket or None, key
    return bucket, s3_key


def parse_batch_key(s3_key: str, bucket: str | None = None) -> BatchKey:
    """Parse identity from a key (or `s3://` URI) of one file in a mini-batch folder."""
    if not isinstance(s3_key, str) or not s3_key.strip():
        raise BatchKeyError(f"S3 key must be a non-empty string (got {s3_key!r})")
    bucket, key = _split_uri(s3_key.strip(), bucket)
    parts = key.lstrip("/").split("/")
    if len(parts) < 8:
        raise _fail(s3_key, f"expected at least 8 path segments, found {len(parts)}")
    *vendor, org1, org2, project, year, month, day, batch_id, file_name = parts
    if not file_name.endswith(BATCH_FILE_SUFFIX) or file_name == BATCH_FILE_SUFFIX:
        raise _fail(s3_key, f"file name {file_name!r} must end in {BATCH_FILE_SUFFIX}")
    for label, value in (("org1", org1), ("org2", org2), ("project_name", project), ("mini_batch_id", batch_id)):
        if not _SEGMENT.match(value):
            raise _fail(s3_key, f"{label} segment {value!r} is empty or has unexpected characters")
    if not (len(year) == 4 and len(month) == 2 and len(day) == 2 and (year + month + day).isdigit()):
        raise _fail(s3_key, f"date segments {year}/{month}/{day} must be YYYY/MM/dd")
    try:
        batch_date = date(int(year), int(month), int(day))
    except ValueError as err:
        raise _fail(s3_key, f"{year}/{month}/{day} is not a calendar date ({err})") from None
    if any(not _SEGMENT.match(v) for v in vendor):
        raise _fail(s3_key, f"vendor prefix {'/'.join(vendor)!r} has an empty or unexpected segment")
    return BatchKey(bucket, "/".join(vendor), org1, org2, project, batch_date, batch_id, file_name)


def representative_object(storage: Storage, folder: str) -> ObjectInfo | None:
    """The batch file whose LastModified stands for the batch: the latest `.json.gz` directly in the
    folder (ties: the last by key), so the window covers the whole batch. Sidecars (`_manifest.json`,
    `00README.txt`), folder markers and sub-folders are ignored. One listing of the folder."""
    folder = as_dir(folder)
    files = [
        info
        for info in storage.list_objects(folder)
        if info.uri.endswith(BATCH_FILE_SUFFIX) and "/" not in info.uri[len(folder) :]
    ]
    return max(files, key=lambda info: (info.last_modified, info.uri), default=None)
