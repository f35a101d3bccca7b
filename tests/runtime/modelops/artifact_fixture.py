"""A model.tar.gz in the RUNTIME_CONTRACT.md shape (manifest.json + model files with their sha256)."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections.abc import Mapping, Sequence
from typing import Any

from runtime.modelops.artifact import artifact_uri
from runtime.storage import Storage

FILES = {"model.json": b'{"trees": [1, 2, 3]}', "preprocessing.json": b'{"scaling": "robust"}'}


def archive_bytes(manifest: Mapping[str, Any], files: Mapping[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in [("manifest.json", json.dumps(manifest).encode()), *files.items()]:
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), 0
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def write_artifact(
    storage: Storage,
    prefix: str,
    project: str,
    version: str,
    features: Sequence[str] = ("f1", "f2"),
    threshold: float = 0.61,
    files: Mapping[str, bytes] = FILES,
    listed: Mapping[str, bytes] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> str:
    """`listed` (default: `files`) is what the manifest hashes, so a test can make them disagree; `extra` adds
    manifest keys."""
    manifest = {
        "model_version": version,
        "feature_names": list(features),
        "data_window": {"start": "2024-09-01T00:00:00Z", "end": "2024-12-31T23:45:00Z"},
        "seed": 42,
        "library_versions": {"scikit-learn": "1.9.1"},
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in (listed or files).items()},
        "thresholds": {"score_threshold": threshold},
        "metrics": {"score_separation": 0.8, "train_rows": 1000},
        **(extra or {}),
    }
    uri = artifact_uri(prefix, project, version)
    storage.write_bytes(uri, archive_bytes(manifest, files))
    return uri
