"""The model artifact `if_training` writes: `<artifacts_s3_prefix>/<project>/<version>/model.tar.gz`.

Only `manifest.json` is read, straight from the archive in memory (nothing is extracted or executed), and
every other file's sha256 is checked against the manifest before any lifecycle step trusts the artifact.

Manifest keys read (RUNTIME_CONTRACT.md lists the content, the training helper names the keys; the
alternatives cover the likely spellings until the lead unifies them): `model_version` | `version`;
`feature_names` | `features`; `files` | `sha256` | `hashes` (file name -> sha256, or a list of
`{path, sha256}`); `thresholds` (mapping) | `score_threshold`; `data_window` | `training_window`; `metrics`.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from runtime.errors import RuntimeJobError
from runtime.storage import Storage, join

ARCHIVE = "model.tar.gz"
MANIFEST = "manifest.json"


def artifact_uri(artifacts_prefix: str, project_name: str, model_version: str) -> str:
    return join(artifacts_prefix, project_name, model_version, ARCHIVE)


@dataclass(frozen=True)
class Manifest:
    uri: str
    archive_sha256: str
    model_version: str
    feature_names: tuple[str, ...]
    file_hashes: Mapping[str, str]
    thresholds: Mapping[str, float]
    data_window: Mapping[str, Any]
    metrics: Mapping[str, Any]
    raw: Mapping[str, Any]


def _first(document: Mapping[str, Any], *names: str) -> Any:
    return next((document[n] for n in names if n in document and document[n] is not None), None)


def _hashes(raw: Any, where: str) -> dict[str, str]:
    if isinstance(raw, Mapping):
        pairs = list(raw.items())
    elif isinstance(raw, list):
        pairs = [(e.get("path") or e.get("name"), e.get("sha256")) for e in raw if isinstance(e, Mapping)]
    else:
        raise RuntimeJobError(f"{where}: manifest lists no file hashes (files / sha256 / hashes)")
    hashes = {str(name).removeprefix("./"): str(digest).lower() for name, digest in pairs if name and digest}
    if not hashes:
        raise RuntimeJobError(f"{where}: manifest lists no file hashes")
    return hashes


def _thresholds(document: Mapping[str, Any]) -> dict[str, float]:
    """`if_training` writes `score_thresholds: {alert, contamination}`; the alert score is the one that labels a
    row anomalous, exposed as `score_threshold`."""
    raw = document.get("score_thresholds", document.get("thresholds"))
    found: dict[str, float] = {}
    if isinstance(raw, Mapping):
        found = {str(k): float(v) for k, v in raw.items() if isinstance(v, int | float) and not isinstance(v, bool)}
    if "alert" in found:
        found.setdefault("score_threshold", found["alert"])
    if isinstance(document.get("score_threshold"), int | float):
        found["score_threshold"] = float(document["score_threshold"])
    return found


def read_manifest(storage: Storage, uri: str) -> Manifest:
    """The manifest of the archive at `uri`, after checking every listed file's sha256 (and that none is
    missing or unlisted)."""
    if not storage.exists(uri):
        raise RuntimeJobError(f"no model artifact at {uri} (run if_training first)")
    data = storage.read_bytes(uri)
    members: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
            for member in archive.getmembers():
                if member.isfile():
                    handle = archive.extractfile(member)
                    if handle is not None:
                        members[member.name.removeprefix("./")] = handle.read()
    except (tarfile.TarError, OSError, EOFError) as err:
        raise RuntimeJobError(f"{uri} is not a readable tar.gz archive ({err})") from None
    if MANIFEST not in members:
        raise RuntimeJobError(f"{uri} has no {MANIFEST}")
    try:
        document = json.loads(members[MANIFEST])
    except json.JSONDecodeError as err:
        raise RuntimeJobError(f"{uri}: {MANIFEST} is not JSON ({err})") from None
    if not isinstance(document, dict):
        raise RuntimeJobError(f"{uri}: {MANIFEST} is not a JSON object")
    hashes = _hashes(_first(document, "files", "sha256", "hashes"), uri)
    for name, digest in sorted(hashes.items()):
        if name not in members:
            raise RuntimeJobError(f"{uri}: {name} is listed in the manifest but missing from the archive")
        actual = hashlib.sha256(members[name]).hexdigest()
        if actual != digest:
            raise RuntimeJobError(f"{uri}: sha256 of {name} is {actual}, the manifest says {digest}; refusing it")
    unlisted = sorted(set(members) - set(hashes) - {MANIFEST})
    if unlisted:
        raise RuntimeJobError(f"{uri}: files {unlisted} are not in the manifest; refusing the archive")
    version, features = _first(document, "model_version", "version"), _first(document, "feature_names", "features")
    if not isinstance(version, str) or not version:
        raise RuntimeJobError(f"{uri}: {MANIFEST} has no model_version")
    if not isinstance(features, list) or not features or not all(isinstance(f, str) for f in features):
        raise RuntimeJobError(f"{uri}: {MANIFEST} has no feature_names list")
    window = _first(document, "data_window", "training_window")
    metrics = document.get("metrics")
    return Manifest(
        uri=uri,
        archive_sha256=hashlib.sha256(data).hexdigest(),
        model_version=version,
        feature_names=tuple(features),
        file_hashes=hashes,
        thresholds=_thresholds(document),
        data_window=dict(window) if isinstance(window, Mapping) else {},
        metrics=dict(metrics) if isinstance(metrics, Mapping) else {},
        raw=document,
    )
