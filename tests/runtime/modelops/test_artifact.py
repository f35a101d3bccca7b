"""The artifact manifest reader: hashes checked, nothing extracted or executed."""

from __future__ import annotations

import pytest

from runtime.errors import RuntimeJobError
from runtime.modelops.artifact import read_manifest
from runtime.storage import LocalStorage
from tests.runtime.modelops.artifact_fixture import FILES, write_artifact

PREFIX = "s3://models/ndr-prod/v1/if_training/"


def test_manifest_is_read_and_verified(storage: LocalStorage) -> None:
    uri = write_artifact(storage, PREFIX, "ndr-prod", "if-1", features=("a", "b", "c"))
    manifest = read_manifest(storage, uri)
    assert uri == "s3://models/ndr-prod/v1/if_training/ndr-prod/if-1/model.tar.gz"
    assert manifest.model_version == "if-1" and manifest.feature_names == ("a", "b", "c")
    assert manifest.thresholds == {"score_threshold": 0.61} and manifest.data_window["start"].startswith("2024-09")
    assert set(manifest.file_hashes) == set(FILES)


def test_a_tampered_file_is_refused(storage: LocalStorage) -> None:
    tampered = {**FILES, "model.json": b'{"trees": [9]}'}
    uri = write_artifact(storage, PREFIX, "p", "if-1", files=tampered, listed=FILES)
    with pytest.raises(RuntimeJobError, match=r"sha256 of model.json is [0-9a-f]{64}, the manifest says .*refusing"):
        read_manifest(storage, uri)


def test_unlisted_and_missing_files_are_refused(storage: LocalStorage) -> None:
    uri = write_artifact(storage, PREFIX, "p", "if-1", files={**FILES, "extra.bin": b"x"}, listed=FILES)
    with pytest.raises(RuntimeJobError, match=r"files \['extra.bin'\] are not in the manifest"):
        read_manifest(storage, uri)
    uri = write_artifact(storage, PREFIX, "p", "if-2", files={"model.json": FILES["model.json"]}, listed=FILES)
    with pytest.raises(RuntimeJobError, match=r"preprocessing.json is listed in the manifest but missing"):
        read_manifest(storage, uri)


def test_missing_and_corrupt_archives(storage: LocalStorage) -> None:
    with pytest.raises(RuntimeJobError, match=r"no model artifact at .*run if_training first"):
        read_manifest(storage, f"{PREFIX}p/none/model.tar.gz")
    storage.write_bytes(f"{PREFIX}p/bad/model.tar.gz", b"not a tarball")
    with pytest.raises(RuntimeJobError, match=r"not a readable tar.gz archive"):
        read_manifest(storage, f"{PREFIX}p/bad/model.tar.gz")
