"""Unpacking a model.tar.gz for serving: data-only extraction; loader refusals become one readable line."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from runtime.errors import RuntimeJobError
from runtime.serving.loading import load_model, resolve_loader, unpack


def tarball(path: Path, members: dict[str, bytes], link: str | None = None) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        if link:
            info = tarfile.TarInfo("escape")
            info.type, info.linkname = tarfile.SYMTYPE, link
            archive.addfile(info)
    return path


def test_unpack_extracts_into_the_workdir(tmp_path: Path) -> None:
    archive = tarball(tmp_path / "model.tar.gz", {"manifest.json": b"{}", "model/forest.json": b"[]"})
    folder = unpack(archive, tmp_path / "work")
    assert (folder / "manifest.json").read_bytes() == b"{}" and (folder / "model/forest.json").exists()


def test_unpack_refuses_links_out_of_the_folder(tmp_path: Path) -> None:
    archive = tarball(tmp_path / "model.tar.gz", {"manifest.json": b"{}"}, link="/etc/passwd")
    with pytest.raises(RuntimeJobError, match="cannot unpack"):
        unpack(archive, tmp_path / "work")


def test_a_loader_failure_is_one_readable_line(tmp_path: Path) -> None:
    def refuse(path: Path) -> object:
        raise ValueError(f"sha256 mismatch in {path.name}")

    with pytest.raises(RuntimeJobError, match="did not load: ValueError: sha256 mismatch in"):
        load_model(tmp_path, refuse)  # type: ignore[arg-type]
    with pytest.raises(RuntimeJobError, match="must be module:function"):
        resolve_loader("no-colon")
    with pytest.raises(RuntimeJobError, match="is not a callable model loader"):
        resolve_loader("runtime.serving.loading:DEFAULT_LOADER")
