"""Deciding "nothing changed since the last build" from file metadata, before anything heavy is imported.

`compile_workspace` records, after each build it writes or reuses, what that build was made from: the
selection (workspace, `--env`, `--out`, the environment variables that shape an environment), the tool
digest, the SHA-256 of `ndrc.yaml`'s bytes, one hash over every spec file's path and metadata (size,
modification and change times in nanoseconds, inode, device: the metadata its content hash was taken
with) and every build file's metadata and content hash. `current_build` then needs one `lstat` per spec
file and per build file, no YAML, no spec file read, no 17,000-entry record parsed and no schema, Jinja or
target imported.

The same rules as the source-hash record (`compiler.compilation.sources`): `ctime` cannot be set from user
space; a record is written only when every spec file was "settled" (its times more than RACY_NANOSECONDS
before the record), and a build file too new to be trusted by its metadata is hashed and compared with its
recorded hash. Anything unusual (a symbolic link or a non-regular file under `specs/`, a missing or foreign
record, NDRC_NO_CACHE) answers "don't know" and the normal path decides. The record is data (JSON)
authenticated with the per-user cache key: a record written elsewhere is ignored, nothing in it is executed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from array import array
from collections.abc import Iterable
from pathlib import Path

from compiler.compilation.signed_file import read_signed, write_signed
from compiler.load.root import CONFIG_FILE, ENVIRONMENT_VARIABLES, SPECS_DIR, workspace_root
from compiler.load.tool_digest import tool_digest
from compiler.load.user_key import cache_key

# This module runs on every `ndrc compile`: it imports only the standard library's basics (no dataclasses,
# no click) and the four small modules above.

RECORD_FORMAT = "ndrc-build-record"
RECORD_VERSION = 2
CACHE_DIR = ".ndrc/cache"  # compiler.compilation.cache.CACHE_DIR (not imported: that module is heavy)
RACY_NANOSECONDS = 2_000_000_000

Stat = tuple[int, int, int, int, int]


class CurrentBuild:
    """The build in place: its folder and how many artifacts it holds (manifest and stamp not counted)."""

    __slots__ = ("artifacts", "out_dir")

    def __init__(self, out_dir: Path, artifacts: int) -> None:
        self.out_dir, self.artifacts = out_dir, artifacts


def stat_key(status: os.stat_result) -> Stat:
    return (status.st_size, status.st_mtime_ns, status.st_ctime_ns, status.st_ino, status.st_dev)


def specs_digest(entries: Iterable[tuple[str, Stat]]) -> str:
    """One hash over every spec file's workspace-relative path and metadata, in walk order (each folder's
    entries by name, which is the order of the paths' components)."""
    names: list[str] = []
    numbers: list[int] = []
    for relative, key in sorted(entries, key=lambda entry: entry[0].split("/")):
        names.append(relative)
        numbers.extend(key)
    return _walk_digest(names, numbers)


def _walk_digest(names: list[str], numbers: list[int]) -> str:
    """The paths joined by NUL (which no path holds), then the five numbers of each file's metadata as one
    array of 64-bit integers: three calls per build instead of formatting five numbers per file."""
    digest = hashlib.sha256("\0".join(names).encode("utf-8", "surrogateescape"))
    digest.update(b"\0\0")  # no path is empty: the numbers start here
    try:
        digest.update(array("q", numbers).tobytes())
    except OverflowError:  # a number beyond a signed 64-bit one (an inode on some file systems)
        digest.update(repr(numbers).encode("ascii"))
    return digest.hexdigest()


def selection(root: Path, environment_name: str | None, out_root: Path | None) -> list[str | None]:
    """Everything besides files that picks the environment and the output folder of a build."""
    out = os.path.abspath(out_root) if out_root is not None else None
    return [str(root), environment_name, out, *(os.environ.get(name) for name in ENVIRONMENT_VARIABLES)]


def record_path(root: Path, chosen: list[str | None]) -> Path:
    key = hashlib.sha256(json.dumps(chosen).encode()).hexdigest()[:24]
    return root / CACHE_DIR / f"build-{key}.json"


def _key() -> bytes | None:
    return None if os.environ.get("NDRC_NO_CACHE") else cache_key()


def _scan(folder: str, prefix: str, names: list[str], numbers: list[int]) -> bool:
    """Regular files under folder in walk order (hidden entries skipped, as `scan_specs` does); False at
    anything else. One `lstat` per file, none per folder (the listing tells files from folders)."""
    with os.scandir(folder) as listing:
        entries = sorted(listing, key=_name)
    for entry in entries:
        name = entry.name
        if name.startswith("."):
            continue
        if entry.is_dir(follow_symlinks=False):
            if not _scan(entry.path, f"{prefix}/{name}", names, numbers):
                return False
        elif entry.is_file(follow_symlinks=False):
            names.append(f"{prefix}/{name}")
            numbers.extend(stat_key(entry.stat(follow_symlinks=False)))
        else:
            return False  # a symbolic link or a non-regular file: the full walk's rules decide
    return True


def _name(entry: os.DirEntry[str]) -> str:
    return entry.name


def _read(path: Path, key: bytes) -> dict[str, object] | None:
    signed = read_signed(path, RECORD_FORMAT, RECORD_VERSION, key)
    record = json.loads(signed[1]) if signed is not None else None
    return record if isinstance(record, dict) else None


def _write(path: Path, key: bytes, record: dict[str, object]) -> None:
    body = json.dumps(record, sort_keys=True, separators=(",", ":")).encode("utf-8")
    write_signed(path, RECORD_FORMAT, RECORD_VERSION, key, body)


def record_build(
    root: Path,
    chosen: list[str | None],
    config_sha256: str,
    sources: Iterable[tuple[str, Stat | None]],
    out_dir: Path,
    files: Iterable[tuple[str, str]],
    artifacts: int,
) -> None:
    """Remember that the build in out_dir (its files: build-relative path, content SHA-256) was made from
    these inputs. `sources` holds each spec file's metadata as taken before its content hash; a file
    without one, or one too new to be trusted, means no record (the normal path decides next time)."""
    key = _key()
    if key is None:
        return
    written = time.time_ns()
    settled = written - RACY_NANOSECONDS
    entries = []
    for relative, status in sources:
        if status is None or max(status[1], status[2]) >= settled:
            with contextlib.suppress(OSError):
                record_path(root, chosen).unlink()
            return
        entries.append((relative, status))
    build = []
    try:
        for relative, content_sha256 in files:
            build.append([relative, *stat_key(os.stat(out_dir / relative)), content_sha256])
    except OSError:
        return
    record = {
        "selection": chosen,
        "tool": tool_digest(),
        "config": config_sha256,
        "specs": specs_digest(entries),
        "out_dir": str(out_dir),
        "artifacts": artifacts,
        "written_ns": time.time_ns(),
        "files": build,
    }
    _write(record_path(root, chosen), key, record)


def current_build(
    workspace_dir: Path | None, environment_name: str | None, out_root: Path | None
) -> CurrentBuild | None:
    """For the CLI: the build `ndrc compile` would make if it is already in place and intact, else None (also
    when anything is unusual: the normal path then decides and reports). Reads `ndrc.yaml` as bytes only."""
    try:
        if workspace_dir is not None and not os.path.isfile(os.path.join(workspace_dir, CONFIG_FILE)):
            return None
        root = workspace_root(workspace_dir)
        if root is None:
            return None
        with open(os.path.join(root, CONFIG_FILE), "rb") as handle:
            config_sha256 = hashlib.sha256(handle.read()).hexdigest()
    except Exception:  # unreadable: the normal path reports it
        return None
    return recorded_build(Path(root), config_sha256, environment_name, out_root)


def recorded_build(
    root: Path, config_sha256: str, environment_name: str | None, out_root: Path | None
) -> CurrentBuild | None:
    """The recorded build of these inputs if every input and every build file is as recorded, else None."""
    try:
        return _recorded_build(root, config_sha256, environment_name, out_root)
    except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError):
        return None


def _recorded_build(
    root: Path, config_sha256: str, environment_name: str | None, out_root: Path | None
) -> CurrentBuild | None:
    key = _key()
    if key is None:
        return None
    chosen = selection(root, environment_name, out_root)
    path = record_path(root, chosen)
    record = _read(path, key)
    if record is None or record["selection"] != chosen or record["config"] != config_sha256:
        return None
    specs = os.path.join(root, SPECS_DIR)
    if os.path.islink(specs) or not os.path.isdir(specs):
        return None
    names: list[str] = []
    numbers: list[int] = []
    if not _scan(specs, SPECS_DIR, names, numbers) or _walk_digest(names, numbers) != record["specs"]:
        return None
    if record["tool"] != tool_digest():
        return None
    out_dir = Path(str(record["out_dir"]))
    out = str(out_dir)
    written = int(str(record["written_ns"]))
    verified_now = False
    files = record["files"]
    assert isinstance(files, list)
    for relative, size, mtime, ctime, inode, device, content_sha256 in files:
        file = f"{out}/{relative}"
        status = os.stat(file)
        if stat_key(status) != (size, mtime, ctime, inode, device):
            return None
        if max(mtime, ctime) >= written - RACY_NANOSECONDS:  # too new to trust its metadata: compare content
            with open(file, "rb") as handle:
                content = handle.read()
            if hashlib.sha256(content).hexdigest() != content_sha256:
                return None
            verified_now = True
    if verified_now and all(max(f[2], f[3]) < time.time_ns() - RACY_NANOSECONDS for f in files):
        _write(path, key, {**record, "written_ns": time.time_ns()})  # now settled: metadata suffices next time
    return CurrentBuild(out_dir, int(str(record["artifacts"])))
