"""model.tar.gz: byte-reproducible, and refused when tampered with, incomplete, padded or escaping."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import numpy as np
import pytest
from sklearn.ensemble import IsolationForest

from runtime.models.artifact import (
    FEATURES_FILE,
    FOREST_FILE,
    PREPROCESSING_FILE,
    ArtifactError,
    build_archive,
    canonical_json,
    extract_archive,
    read_archive,
)
from runtime.models.forest import forest_to_dict
from runtime.models.options import PreprocessingOptions
from runtime.models.preprocessing import fit_preprocessor
from runtime.models.scoring import ScoringModel, load_model_artifact

NAMES = ("a", "b", "c")


def _archive(seed: int = 1) -> bytes:
    rng = np.random.default_rng(0)
    raw = rng.normal(size=(300, 3))
    pre = fit_preprocessor(raw, NAMES, PreprocessingOptions())
    forest = IsolationForest(n_estimators=20, random_state=seed).fit(pre.transform(raw))
    files = {
        FOREST_FILE: canonical_json(forest_to_dict(forest)),
        PREPROCESSING_FILE: canonical_json(pre.to_dict()),
        FEATURES_FILE: canonical_json(list(NAMES)),
    }
    return build_archive(files, {"model_version": "m1", "feature_names": list(NAMES), "seed": seed})


def test_same_inputs_give_identical_bytes_and_fixed_metadata() -> None:
    first, second = _archive(), _archive()
    assert first == second and first != _archive(seed=2)
    assert first[4:8] == b"\0\0\0\0"  # gzip header mtime
    with tarfile.open(fileobj=io.BytesIO(first)) as tar:
        infos = tar.getmembers()
    assert [i.name for i in infos] == sorted(i.name for i in infos)
    assert {(i.mtime, i.uid, i.gid, i.mode, i.uname) for i in infos} == {(0, 0, 0, 0o644, "")}


def test_loader_scores_and_follows_the_protocol(tmp_path: Path) -> None:
    model: ScoringModel = load_model_artifact(extract_archive(_archive(), tmp_path / "m"))
    assert model.model_version == "m1" and model.feature_names == NAMES
    normal, odd = model.score([[0.0, 0.1, -0.2], [40.0, None, -35.0]])
    assert 0 < normal < odd <= 1
    with pytest.raises(ValueError, match="the model takes 3"):
        model.score([[1.0, 2.0]])


def test_a_tampered_file_is_refused(tmp_path: Path) -> None:
    directory = extract_archive(_archive(), tmp_path / "m")
    forest = json.loads((directory / FOREST_FILE).read_bytes())
    forest["trees"][0]["threshold"][0] += 1.0
    (directory / FOREST_FILE).write_bytes(canonical_json(forest))
    with pytest.raises(ArtifactError, match=r"model/forest\.json: sha256 .* does not match the manifest"):
        load_model_artifact(directory)


def test_missing_and_unlisted_files_are_refused(tmp_path: Path) -> None:
    directory = extract_archive(_archive(), tmp_path / "m")
    (directory / "model" / "extra.pkl").write_bytes(b"\x80\x04")
    with pytest.raises(ArtifactError, match=r"not listed in the manifest: model/extra\.pkl"):
        load_model_artifact(directory)
    (directory / "model" / "extra.pkl").unlink()
    (directory / PREPROCESSING_FILE).unlink()
    with pytest.raises(ArtifactError, match="listed in the manifest but missing"):
        load_model_artifact(directory)


def _tar(entries: list[tarfile.TarInfo]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for info in entries:
            tar.addfile(info, io.BytesIO(b"x" * info.size) if info.isfile() else None)
    return buffer.getvalue()


def test_escaping_and_special_members_are_refused(tmp_path: Path) -> None:
    escaping = tarfile.TarInfo("../evil.json")
    escaping.size = 1
    with pytest.raises(ArtifactError, match="escapes the archive directory"):
        extract_archive(_tar([escaping]), tmp_path / "m")
    link = tarfile.TarInfo("model/forest.json")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    with pytest.raises(ArtifactError, match="not a regular file"):
        read_archive(_tar([link]))
    with pytest.raises(ArtifactError, match=r"not a readable model\.tar\.gz"):
        read_archive(b"not a tarball")
    assert not (tmp_path / "evil.json").exists()
