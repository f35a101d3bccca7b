"""The validation cache is data only: nothing in it is executed, and a bad cache is ignored and rebuilt."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from compiler.cli import cli
from compiler.compilation import cache
from compiler.compilation.compile import compile_workspace, validate_with_cache
from compiler.validation.workspace_config import load_workspace


class _Payload:
    """Unpickling this opens (creates) the marker file: proof that loading it ran code."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, tuple[str, str]]:
        return (open, (str(self.marker), "w"))


@pytest.fixture(autouse=True)
def _fresh_process_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cache, "_IN_PROCESS", {})
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    monkeypatch.delenv("NDRC_NO_CACHE", raising=False)


def _cache_files(workspace_dir: Path) -> list[Path]:
    return sorted((workspace_dir / cache.CACHE_DIR).glob("validate-local*"))


def _stored(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """A cache file's header line and its entries (the body)."""
    header_line, _, body = path.read_bytes().partition(b"\n")
    return json.loads(header_line), json.loads(body)


def _store(path: Path, header: dict[str, Any], entries: dict[str, Any]) -> None:
    path.write_bytes(json.dumps(header).encode() + b"\n" + json.dumps(entries).encode())


def test_a_planted_pickle_is_never_executed(workspace_dir: Path, tmp_path: Path) -> None:
    marker = tmp_path / "PWNED"
    folder = workspace_dir / cache.CACHE_DIR
    folder.mkdir(parents=True)
    for name in ("validate-local.pickle", "validate-local.json"):
        (folder / name).write_bytes(pickle.dumps({"fingerprint": "x", "entries": _Payload(marker)}))
    result = CliRunner().invoke(cli, ["validate", "--workspace", str(workspace_dir)])
    assert result.exit_code == 0, result.output
    assert not marker.exists()


@pytest.mark.parametrize("content", [b"\x80\x04garbage", b"", b"[]", b'{"format": "ndrc-validate-cache"}', b"\xff\xfe"])
def test_an_unreadable_cache_is_ignored_and_rebuilt(workspace_dir: Path, content: bytes) -> None:
    folder = workspace_dir / cache.CACHE_DIR
    folder.mkdir(parents=True)
    (folder / "validate-local.json").write_bytes(content)
    result = CliRunner().invoke(cli, ["validate", "--workspace", str(workspace_dir)])
    assert result.exit_code == 0, result.output
    assert "internal error" not in result.output
    header, entries = _stored(folder / "validate-local.json")
    assert header["format"] == cache.CACHE_FORMAT and header["version"] == cache.CACHE_VERSION
    assert entries


def test_the_cache_is_json_and_a_second_run_reads_it(workspace_dir: Path) -> None:
    workspace = load_workspace(workspace_dir)
    first = validate_with_cache(workspace, "local")
    cache._IN_PROCESS.clear()
    opened = cache.FileCache.open(workspace, workspace.environment("local"))
    assert len(opened.encoded) == len(first.compiled.items) + 1  # every spec file plus routing.yaml
    assert opened.entries == {}  # decoded when asked for
    second = validate_with_cache(workspace, "local")
    assert second.compiled.items == first.compiled.items
    assert second.compiled.routes == first.compiled.routes
    assert [p.name for p in _cache_files(workspace_dir)] == ["validate-local.json"]


def test_a_cache_of_another_version_is_ignored(workspace_dir: Path) -> None:
    workspace = load_workspace(workspace_dir)
    validate_with_cache(workspace, "local")
    path = workspace_dir / cache.CACHE_DIR / "validate-local.json"
    header, entries = _stored(path)
    _store(path, {**header, "version": cache.CACHE_VERSION + 1}, entries)
    cache._IN_PROCESS.clear()
    assert cache.FileCache.open(workspace, workspace.environment("local")).encoded == {}


def test_a_forged_cache_entry_is_not_trusted(workspace_dir: Path) -> None:
    """A cache written elsewhere (e.g. committed in a pull request) cannot vouch for a file: entries are
    authenticated with a key kept outside the workspace, so a forged 'valid' result is rebuilt."""
    workspace = load_workspace(workspace_dir)
    validate_with_cache(workspace, "local")
    path = workspace_dir / cache.CACHE_DIR / "validate-local.json"
    header, entries = _stored(path)
    spec = workspace_dir / "specs/p1/fg_c_builder#v1.yaml"
    spec.write_text(spec.read_text().replace("s3://feat-bucket/fg_c/", "not-a-uri"))
    import hashlib

    relative = "specs/p1/fg_c_builder#v1.yaml"
    entries[relative][0] = hashlib.sha256(spec.read_bytes()).hexdigest()  # claims the edit is valid
    _store(path, header, entries)  # the old MAC: it no longer matches the body
    cache._IN_PROCESS.clear()
    result = validate_with_cache(workspace, "local")
    assert any(d.rule == "schema.pattern" and d.path == relative for d in result.diagnostics)


def test_compile_output_is_identical_from_the_cache(workspace_dir: Path, tmp_path: Path) -> None:
    first = compile_workspace(load_workspace(workspace_dir), "local", tmp_path / "one")
    cache._IN_PROCESS.clear()
    second = compile_workspace(load_workspace(workspace_dir), "local", tmp_path / "two")
    assert not second.reused
    for artifact in first.artifacts:
        assert (second.out_dir / artifact.path).read_bytes() == artifact.content


def test_an_entry_that_does_not_decode_costs_only_its_file(workspace_dir: Path) -> None:
    """Entries are decoded when asked for: an authentic entry of a shape this ndrc cannot read (its own
    format mistake) is a miss for that file alone, which is validated again."""
    from compiler.compilation.signed_file import write_signed
    from compiler.load.user_key import cache_key

    workspace = load_workspace(workspace_dir)
    first = validate_with_cache(workspace, "local")
    path = workspace_dir / cache.CACHE_DIR / "validate-local.json"
    header, entries = _stored(path)
    relative = "specs/p1/fg_c_builder#v1.yaml"
    entries[relative][1] = {"not": "a file result"}
    key = cache_key()
    assert key is not None
    body = json.dumps(entries).encode()
    write_signed(path, cache.CACHE_FORMAT, cache.CACHE_VERSION, key, body, fingerprint=header["fingerprint"])
    cache._IN_PROCESS.clear()
    opened = cache.FileCache.open(workspace, workspace.environment("local"))
    assert opened.get(relative, entries[relative][0]) is None
    other = next(name for name in entries if name != relative)
    assert opened.get(other, entries[other][0]) is not None
    cache._IN_PROCESS.clear()
    assert validate_with_cache(workspace, "local").compiled.items == first.compiled.items
