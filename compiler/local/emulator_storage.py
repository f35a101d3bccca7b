"""The local storage root as part of the emulator's S3, for reads: the pipeline steps write to the storage root
(`NDRC_LOCAL_STORAGE_ROOT`, standing in for S3), while the state machines read S3 through the emulator — the
backfill's Distributed Map `ItemReader` (`arn:aws:states:::s3:getObject`) reads the items file the extractor
step wrote. Patched on moto's S3 backend: a `GetObject` of a key whose file exists at
`<root>/<bucket>/<key>` serves that file (copied into the emulated bucket when the bucket has no such key or
the file is newer), so both sides see one object store. Writes through the S3 API still go to moto only.
"""

from __future__ import annotations

import calendar
from pathlib import Path
from typing import Any


def install(storage_root: Path) -> None:
    """Route moto's `get_object` through the storage root (once per process)."""
    from moto.s3 import models

    backend: Any = models.S3Backend  # patched: typed loosely on purpose
    original_get = backend.get_object
    root = storage_root.resolve()

    def get_object(
        self: Any, bucket_name: str, key_name: str, version_id: str | None = None, *args: Any, **kwargs: Any
    ) -> Any:
        found = original_get(self, bucket_name, key_name, version_id, *args, **kwargs)
        if version_id is None and bucket_name in self.buckets:
            path = (root / bucket_name / key_name).resolve()
            if path.is_relative_to(root) and path.is_file():
                stale = found is None or path.stat().st_mtime > calendar.timegm(found.last_modified.utctimetuple())
                if stale:
                    self.put_object(bucket_name, key_name, path.read_bytes())
                    return original_get(self, bucket_name, key_name, version_id, *args, **kwargs)
        return found

    backend.get_object = get_object
