"""The spec files of a build and their content hashes, re-hashed only when a file's metadata changed.

An unchanged recompile must know every file's content hash to decide that nothing changed; reading and
hashing 17,000 files costs more than the rest of that decision. Like git's index, this keeps each file's
hash with the metadata it had when it was hashed (size, modification and change times in nanoseconds,
inode, device) and trusts the hash only while all of them are the same. `ctime` cannot be set from user
space, so `touch -d` cannot forge a match; a file whose times are too close to the moment the record was
written ("racily clean": a later write in the same clock tick would keep its times) is not recorded and is
hashed again next time. The record is data (JSON) authenticated with the same per-user key as the
validation cache, so a record written elsewhere is ignored.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from compiler.compilation.cache import CACHE_DIR, cache_key
from compiler.compilation.signed_file import read_signed, write_signed
from compiler.compilation.uptodate import Stat, stat_key
from compiler.diagnostics import Diagnostic, Location, error
from compiler.load.symlinks import scan_specs
from compiler.load.workspace import Workspace
from compiler.rule_catalog import IO_READ

RECORD_FORMAT = "ndrc-source-digests"
RECORD_VERSION = 1
RECORD_FILE = "sources.json"
RACY_NANOSECONDS = 2_000_000_000  # files changed this close to the record's writing are hashed again


@dataclass(frozen=True)
class Source:
    """One spec file: where it is, its workspace-relative path and the SHA-256 of its bytes."""

    path: Path
    relative: str
    digest: str
    stat: Stat | None = None  # the metadata the digest was taken with (None: unknown)
    # The bytes the digest was taken of, when this process read them to hash them: validation then checks
    # exactly the hashed bytes (and does not open the file a second time).
    content: bytes | None = field(default=None, compare=False, repr=False)


class DigestRecord:
    """`relative -> (stat, digest)` as last seen, stored under `.ndrc/cache/` (missing or foreign: empty)."""

    def __init__(self, path: Path | None, key: bytes) -> None:
        self.path, self.key = path, key
        self.known: dict[str, tuple[Stat, str]] = self._read() if path is not None else {}
        self.seen: dict[str, tuple[Stat, str]] = {}
        self.changed = False  # a file was hashed (new, edited or racily clean): the record is rewritten

    @classmethod
    def open(cls, workspace: Workspace) -> DigestRecord:
        key = None if os.environ.get("NDRC_NO_CACHE") else cache_key()
        if key is None:
            return cls(None, b"")
        return cls(workspace.root / CACHE_DIR / RECORD_FILE, key)

    def _read(self) -> dict[str, tuple[Stat, str]]:
        assert self.path is not None
        signed = read_signed(self.path, RECORD_FORMAT, RECORD_VERSION, self.key)
        if signed is None:
            return {}
        try:
            known: dict[str, tuple[Stat, str]] = {}
            for relative, (size, mtime, ctime, inode, device, digest) in json.loads(signed[1]).items():
                if not isinstance(digest, str):
                    return {}
                # (a stat part of another type can never equal a real status: the file is hashed again)
                known[relative] = ((size, mtime, ctime, inode, device), digest)
            return known
        except (ValueError, KeyError, TypeError, AttributeError):
            return {}

    def digest(self, path: Path, relative: str, status: os.stat_result | None = None) -> str:
        """The file's content hash: the recorded one if its metadata is unchanged, else read and hashed.
        Metadata (`status`, else a fresh stat) is taken before the bytes are read, so a write between the
        two is seen next time."""
        return self.digest_and_stat(path, relative, status)[0]

    def digest_and_stat(self, path: Path, relative: str, status: os.stat_result | None = None) -> tuple[str, Stat]:
        """`digest`, with the metadata it was taken with."""
        digest, metadata, _ = self.read(path, relative, status)
        return digest, metadata

    def read(self, path: Path, relative: str, status: os.stat_result | None = None) -> tuple[str, Stat, bytes | None]:
        """`digest_and_stat`, with the bytes hashed (None when the recorded digest was trusted)."""
        metadata = stat_key(status or path.stat())
        known = self.known.get(relative)
        if known is not None and known[0] == metadata:
            self.seen[relative] = known
            return known[1], metadata, None
        content = path.read_bytes()
        digest = hashlib.sha256(content).hexdigest()
        self.seen[relative] = (metadata, digest)
        self.changed = True
        return digest, metadata, content

    def save(self) -> None:
        if self.path is None or not (self.changed or self.seen.keys() != self.known.keys()):
            return
        settled = time.time_ns() - RACY_NANOSECONDS
        entries = {
            relative: [*metadata, digest]
            for relative, (metadata, digest) in self.seen.items()
            if max(metadata[1], metadata[2]) < settled
        }
        body = json.dumps(entries, sort_keys=True, separators=(",", ":")).encode("utf-8")
        write_signed(self.path, RECORD_FORMAT, RECORD_VERSION, self.key, body)


def read_sources(workspace: Workspace) -> tuple[list[Source], list[Diagnostic]]:
    """Every spec file with its content hash, and the located problems of what the walk refused or could
    not read."""
    tree = scan_specs(workspace.specs_dir, workspace.root)
    record = DigestRecord.open(workspace)
    sources, problems = [], list(tree.problems)
    for path, relative in tree.files:
        try:
            digest, metadata, content = record.read(path, relative, tree.stats.get(relative))
            sources.append(Source(path, relative, digest, metadata, content))
        except OSError as problem:
            problems.append(error(Location(relative), IO_READ, f"cannot read file: {problem.strerror}"))
    record.save()
    return sources, problems
