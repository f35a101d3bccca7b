"""The stat-keyed content hashes: reused only while a file's metadata is unchanged, never trusted otherwise."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from compiler.compilation import sources
from compiler.compilation.compile import compile_workspace
from compiler.validation.workspace_config import load_workspace

SPEC = "specs/p1/fg_c_builder#v1.yaml"


def _settle(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pretend the files were written long ago, so the record keeps them (they are not racily clean)."""
    monkeypatch.setattr(sources, "RACY_NANOSECONDS", -(10**18))


def _record(workspace_dir: Path) -> dict[str, list[object]]:
    header, _, body = (workspace_dir / ".ndrc/cache" / sources.RECORD_FILE).read_text().partition("\n")
    assert json.loads(header)["format"] == sources.RECORD_FORMAT
    return json.loads(body)  # type: ignore[no-any-return]


def test_unchanged_files_are_not_read_again(workspace_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _settle(monkeypatch)
    workspace = load_workspace(workspace_dir)
    first, _ = sources.read_sources(workspace)
    assert SPEC in _record(workspace_dir)
    read_bytes = Path.read_bytes

    def refuse_specs(self: Path) -> bytes:
        if "specs" in self.parts:
            pytest.fail(f"{self} was read again")
        return read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", refuse_specs)
    second, _ = sources.read_sources(workspace)
    assert second == first


def test_an_edit_that_keeps_size_and_mtime_is_still_seen(
    workspace_dir: Path, monkeypatch: pytest.MonkeyPatch, same_size_same_mtime_edit: Callable[[Path], str]
) -> None:
    """`touch -d` can restore the modification time, but not the change time: the edit is hashed."""
    _settle(monkeypatch)
    workspace = load_workspace(workspace_dir)
    before = {s.relative: s.digest for s in sources.read_sources(workspace)[0]}
    edited = same_size_same_mtime_edit(workspace_dir / SPEC)
    after = {s.relative: s.digest for s in sources.read_sources(workspace)[0]}
    assert after[SPEC] == hashlib.sha256(edited.encode()).hexdigest() != before[SPEC]


def test_recently_changed_files_are_not_recorded(workspace_dir: Path) -> None:
    """A file written within the racy window could change again in the same clock tick: hash it next time."""
    sources.read_sources(load_workspace(workspace_dir))
    record = workspace_dir / ".ndrc/cache" / sources.RECORD_FILE
    assert not record.exists() or SPEC not in _record(workspace_dir)


def test_a_record_written_elsewhere_is_ignored(workspace_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _settle(monkeypatch)
    workspace = load_workspace(workspace_dir)
    sources.read_sources(workspace)
    path = workspace_dir / ".ndrc/cache" / sources.RECORD_FILE
    header, _, body = path.read_text().partition("\n")
    entries = json.loads(body)
    entries[SPEC][-1] = "0" * 64  # a forged hash for the file's real metadata
    path.write_text(header + "\n" + json.dumps(entries, sort_keys=True, separators=(",", ":")))
    digests = {s.relative: s.digest for s in sources.read_sources(workspace)[0]}
    assert digests[SPEC] == hashlib.sha256((workspace_dir / SPEC).read_bytes()).hexdigest()


def test_an_edited_spec_is_recompiled(workspace_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _settle(monkeypatch)
    compile_workspace(load_workspace(workspace_dir), "local")
    assert compile_workspace(load_workspace(workspace_dir), "local").reused
    path = workspace_dir / SPEC
    path.write_text(path.read_text().replace("s3://feat-bucket/fg_c/", "s3://feat-bucket/fg_x/"))
    again = compile_workspace(load_workspace(workspace_dir), "local")
    assert not again.reused
    assert b"s3://feat-bucket/fg_x/" in (again.out_dir / "dynamodb/ml_projects_parameters.jsonl").read_bytes()


@pytest.mark.parametrize("parallel", [False, True], ids=["one process", "workers"])
def test_validation_checks_the_bytes_that_were_hashed(
    workspace_dir: Path, monkeypatch: pytest.MonkeyPatch, parallel: bool
) -> None:
    """A file edited between hashing and validating: the result cached under the digest is that of the
    hashed bytes (not of the edit, which the next run hashes and validates on its own)."""
    from compiler.compilation import compile as compilation
    from compiler.compilation.compile import validate_with_cache

    if parallel:
        monkeypatch.setattr(compilation, "PARALLEL_THRESHOLD", 2)
        monkeypatch.setattr(compilation.os, "cpu_count", lambda: 2)
    workspace = load_workspace(workspace_dir)
    read = sources.read_sources(workspace)
    hashed = next(source for source in read[0] if source.relative == SPEC)
    assert hashed.content == (workspace_dir / SPEC).read_bytes()
    (workspace_dir / SPEC).write_text("not: [valid")  # after hashing, before validation
    result = validate_with_cache(workspace, "local", read)
    assert result.ok, result.diagnostics
    assert any(item.source == SPEC for item in result.compiled.items)
