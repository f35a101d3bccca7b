"""`model.tar.gz`: a byte-reproducible archive of JSON files, its manifest, safe extraction and verification.

Layout of the archive (all members regular files, sorted, mode 0644, owner 0:0, mtime 0, gzip mtime 0):
    manifest.json              model identity, feature names in order, data window, seed, libraries,
                               thresholds, and the sha256 of every other member
    model/forest.json          the Isolation Forest (runtime.models.forest)
    model/preprocessing.json   fill/clip/scale per feature (runtime.models.preprocessing)
    model/features.json        the selected feature names, in scoring order
Nothing in it is executable: the loader only parses JSON, after checking every hash.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

MANIFEST = "manifest.json"
FOREST_FILE = "model/forest.json"
PREPROCESSING_FILE = "model/preprocessing.json"
FEATURES_FILE = "model/features.json"
MANIFEST_FORMAT = "ndrc-model-manifest/1"
MAX_MEMBER_BYTES = 512 * 1024 * 1024


class ArtifactError(ValueError):
    """The archive or extracted directory is not a valid, untampered model artifact."""


def canonical_json(data: Any) -> bytes:
    return (json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False) + "\n").encode()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def build_archive(files: Mapping[str, bytes], manifest: Mapping[str, Any]) -> bytes:
    """The tar.gz bytes of `files` plus a manifest carrying their hashes; same inputs -> same bytes."""
    full_manifest = {**manifest, "format": MANIFEST_FORMAT, "files": {n: sha256(b) for n, b in sorted(files.items())}}
    members = {**files, MANIFEST: canonical_json(full_manifest)}
    tar_buffer = io.BytesIO()
    with tarfile.open(fileobj=tar_buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name in sorted(members):
            data = members[name]
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=9) as gz:
        gz.write(tar_buffer.getvalue())
    return out.getvalue()


def _safe_name(name: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise ArtifactError(f"archive member {name!r} escapes the archive directory")
    return path


def read_archive(data: bytes) -> dict[str, bytes]:
    """Every member of a model archive; only regular files with plain relative names are accepted."""
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            members: dict[str, bytes] = {}
            for info in tar.getmembers():
                if not info.isfile():
                    raise ArtifactError(f"archive member {info.name!r} is not a regular file")
                if info.size > MAX_MEMBER_BYTES:
                    raise ArtifactError(f"archive member {info.name!r} is larger than {MAX_MEMBER_BYTES} bytes")
                name = str(_safe_name(info.name))
                handle = tar.extractfile(info)
                if handle is None:
                    raise ArtifactError(f"archive member {info.name!r} has no content")
                members[name] = handle.read()
    except (tarfile.TarError, OSError, EOFError) as err:
        raise ArtifactError(f"not a readable model.tar.gz: {err}") from err
    return members


def extract_archive(data: bytes, directory: Path) -> Path:
    """Write the archive's members under `directory` (created); returns it."""
    for name, content in read_archive(data).items():
        target = directory / _safe_name(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    return directory


def verified_files(directory: Path) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The manifest and every file it lists, after checking each file's sha256 and that no other file exists."""
    manifest_path = directory / MANIFEST
    if not manifest_path.is_file():
        raise ArtifactError(f"{directory}: no {MANIFEST}")
    try:
        manifest = json.loads(manifest_path.read_bytes())
    except (ValueError, UnicodeDecodeError) as err:
        raise ArtifactError(f"{manifest_path}: not JSON ({err})") from err
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        raise ArtifactError(f"{manifest_path}: not a {MANIFEST_FORMAT} manifest")
    listed = manifest.get("files")
    if not isinstance(listed, dict) or not listed:
        raise ArtifactError(f"{manifest_path}: no file hashes")
    present = {str(p.relative_to(directory).as_posix()) for p in directory.rglob("*") if p.is_file()} - {MANIFEST}
    if unexpected := sorted(present - set(listed)):
        raise ArtifactError(f"{directory}: files not listed in the manifest: {', '.join(unexpected)}")
    contents: dict[str, bytes] = {}
    for name, expected in sorted(listed.items()):
        path = directory / _safe_name(name)
        if not path.is_file():
            raise ArtifactError(f"{directory}: {name} is listed in the manifest but missing")
        data = path.read_bytes()
        if sha256(data) != expected:
            raise ArtifactError(f"{path}: sha256 {sha256(data)} does not match the manifest ({expected}); refusing it")
        contents[name] = data
    return manifest, contents
