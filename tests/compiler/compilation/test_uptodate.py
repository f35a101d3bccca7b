"""The build record: `ndrc compile` says "nothing changed" from metadata alone only when nothing did."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from compiler.cli import cli
from compiler.compilation import sources, uptodate
from compiler.compilation.compile import compile_workspace
from compiler.validation.workspace_config import load_workspace

SPEC = "specs/p1/fg_c_builder#v1.yaml"
UNCHANGED = "nothing changed since the last build"


@pytest.fixture
def settled(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pretend every file was written long ago, so records keep them (they are not racily clean)."""
    monkeypatch.setattr(uptodate, "RACY_NANOSECONDS", -(10**18))
    monkeypatch.setattr(sources, "RACY_NANOSECONDS", -(10**18))


def _built(workspace_dir: Path) -> Path:
    return compile_workspace(load_workspace(workspace_dir), "local").out_dir


def _current(workspace_dir: Path) -> uptodate.CurrentBuild | None:
    return uptodate.current_build(workspace_dir, "local", None)


def _compile(workspace_dir: Path) -> str:
    result = CliRunner().invoke(cli, ["compile", "--env", "local", "--workspace", str(workspace_dir)])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.usefixtures("settled")
def test_an_unchanged_compile_is_decided_without_the_compiler(workspace_dir: Path) -> None:
    out_dir = _built(workspace_dir)
    current = _current(workspace_dir)
    assert current is not None and current.out_dir == out_dir
    assert current.artifacts == len(json.loads((out_dir / "manifest.json").read_text())["artifacts"])
    assert UNCHANGED in _compile(workspace_dir)
    assert compile_workspace(load_workspace(workspace_dir), "local").reused


@pytest.mark.usefixtures("settled")
@pytest.mark.parametrize(
    "change",
    ["edited", "same_size_same_mtime", "touched", "added", "removed", "config", "build_file", "build_missing"],
)
def test_any_change_goes_to_the_full_path(
    workspace_dir: Path, change: str, same_size_same_mtime_edit: Callable[[Path], str]
) -> None:
    out_dir = _built(workspace_dir)
    spec = workspace_dir / SPEC
    if change == "edited":
        spec.write_text(spec.read_text().replace("s3://feat-bucket/fg_c/", "s3://feat-bucket/fg_changed/"))
    elif change == "same_size_same_mtime":
        same_size_same_mtime_edit(spec)
    elif change == "touched":
        os.utime(spec)
    elif change == "added":
        (workspace_dir / "specs/p1/notes.yaml").write_text("x: 1\n")
    elif change == "removed":
        spec.unlink()
    elif change == "config":
        with (workspace_dir / "ndrc.yaml").open("a") as handle:
            handle.write("# a comment\n")
    elif change == "build_file":
        artifact = next(p for p in out_dir.rglob("*.json") if p.name != "manifest.json")
        status = artifact.stat()
        artifact.write_bytes(artifact.read_bytes().replace(b"{", b"[", 1))
        os.utime(artifact, ns=(status.st_atime_ns, status.st_mtime_ns))
    elif change == "build_missing":
        next(p for p in out_dir.rglob("*.json") if p.name != "manifest.json").unlink()
    assert _current(workspace_dir) is None


@pytest.mark.usefixtures("settled")
def test_a_same_size_edit_within_the_mtime_granularity_is_recompiled(
    workspace_dir: Path, same_size_same_mtime_edit: Callable[[Path], str]
) -> None:
    out_dir = _built(workspace_dir)
    before = (out_dir / "manifest.json").read_bytes()
    same_size_same_mtime_edit(workspace_dir / SPEC)
    assert "(written)" in _compile(workspace_dir)
    assert (out_dir / "manifest.json").read_bytes() != before
    assert UNCHANGED in _compile(workspace_dir)


@pytest.mark.usefixtures("settled")
def test_a_touched_but_same_file_reuses_the_build(workspace_dir: Path) -> None:
    _built(workspace_dir)
    os.utime(workspace_dir / SPEC)
    assert _current(workspace_dir) is None
    assert UNCHANGED in _compile(workspace_dir)  # the content hashes show nothing changed
    assert _current(workspace_dir) is not None  # and the record is current again


@pytest.mark.usefixtures("settled")
def test_another_tool_version_goes_to_the_full_path(workspace_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _built(workspace_dir)
    monkeypatch.setattr(uptodate, "tool_digest", lambda: "another ndrc")
    assert _current(workspace_dir) is None


@pytest.mark.usefixtures("settled")
@pytest.mark.parametrize("variable", ["NDRC_ENV", "AWS_ENDPOINT_URL", "ML_PROJECTS_PARAMETERS_TABLE_NAME"])
def test_the_environment_variables_that_shape_an_environment_are_part_of_the_record(
    workspace_dir: Path, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    _built(workspace_dir)
    monkeypatch.setenv(variable, "local")
    assert _current(workspace_dir) is None


@pytest.mark.usefixtures("settled")
def test_a_record_written_elsewhere_is_ignored(workspace_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _built(workspace_dir)
    monkeypatch.setattr(uptodate, "cache_key", lambda: b"another user's key")
    assert _current(workspace_dir) is None


@pytest.mark.usefixtures("settled")
def test_a_symbolic_link_under_specs_leaves_the_decision_to_the_full_walk(workspace_dir: Path) -> None:
    (workspace_dir / "specs/p1").rename(workspace_dir / "p1")
    (workspace_dir / "specs/p1").symlink_to(workspace_dir / "p1")
    _built(workspace_dir)
    assert _current(workspace_dir) is None


def test_racily_clean_spec_files_are_not_recorded(workspace_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Files changed just before the record could change again in the same clock tick unseen: no record."""
    monkeypatch.setattr(uptodate, "RACY_NANOSECONDS", 10**18)
    _built(workspace_dir)
    assert not list((workspace_dir / ".ndrc/cache").glob("build-*.json"))
    assert _current(workspace_dir) is None


def test_racily_clean_build_files_are_compared_by_content(workspace_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A write in the same clock tick as the build keeps a file's size and times; simulated here by leaving the
    change time out of the metadata. A build file too new to be trusted by its metadata is hashed."""
    without_ctime = lambda s: (s.st_size, s.st_mtime_ns, 0, s.st_ino, s.st_dev)  # noqa: E731
    monkeypatch.setattr(uptodate, "stat_key", without_ctime)
    monkeypatch.setattr(sources, "stat_key", without_ctime)
    monkeypatch.setattr(sources, "RACY_NANOSECONDS", -(10**18))
    monkeypatch.setattr(uptodate, "RACY_NANOSECONDS", -(10**18))
    out_dir = _built(workspace_dir)
    artifact = next(p for p in out_dir.rglob("*.json") if p.name != "manifest.json")
    status = artifact.stat()
    artifact.write_bytes(artifact.read_bytes().replace(b"{", b"[", 1))
    os.utime(artifact, ns=(status.st_atime_ns, status.st_mtime_ns))
    assert _current(workspace_dir) is not None  # settled files: their metadata is trusted (the rule's premise)
    monkeypatch.setattr(uptodate, "RACY_NANOSECONDS", 10**18)  # every build file is now too new to trust
    assert _current(workspace_dir) is None


def test_without_a_cache_nothing_is_recorded(workspace_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NDRC_NO_CACHE", "1")
    _built(workspace_dir)
    assert _current(workspace_dir) is None
    assert not (workspace_dir / ".ndrc/cache").exists() or not list((workspace_dir / ".ndrc/cache").glob("build-*"))


def test_the_recorded_digest_and_the_walk_agree_on_the_order_of_paths(tmp_path: Path) -> None:
    """The record is written from the full walk's list (any order) and checked against the metadata walk,
    which lists each folder by name; names that sort differently as whole paths ('a.yaml' < 'a/') agree."""
    specs = tmp_path / "specs"
    for relative in ("a/x.yaml", "a.yaml", "a-b/y.yaml", "a/b/z.yaml", "b.yaml", "a/b.yaml"):
        (specs / relative).parent.mkdir(parents=True, exist_ok=True)
        (specs / relative).write_text(relative)
    names: list[str] = []
    numbers: list[int] = []
    assert uptodate._scan(str(specs), "specs", names, numbers)
    entries = [
        (path.relative_to(tmp_path).as_posix(), uptodate.stat_key(path.lstat())) for path in specs.rglob("*.yaml")
    ]
    assert uptodate.specs_digest(reversed(sorted(entries))) == uptodate._walk_digest(names, numbers)
    assert uptodate.specs_digest(entries[1:]) != uptodate._walk_digest(names, numbers)


def test_metadata_beyond_64_bits_still_has_a_digest() -> None:
    huge = (1, 2, 3, 2**64 - 1, 5)  # some file systems hand out inode numbers above 2**63
    assert uptodate.specs_digest([("specs/a", huge)]) != uptodate.specs_digest([("specs/a", (1, 2, 3, 4, 5))])
