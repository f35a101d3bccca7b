"""Per-file validation cache keyed by content hashes, so an unchanged workspace recompiles in a blink.

The key of the whole cache is a fingerprint of everything besides the file that shapes a result: the ndrc
version, the schemas, the selected environment's settings and the operator catalog. Any change there
discards the cache.

The cache is data only (`.ndrc/cache/validate-<env>.json`, see `compiler.compilation.cache_codec`): nothing in it is
ever executed. It carries a format name and version and an HMAC made with a key kept outside the workspace
(`$XDG_CACHE_HOME/ndrc/cache-key`), so a cache file that is unreadable, of another version, or written
anywhere else (say, committed in a pull request) is ignored and rebuilt, never trusted.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from compiler.compilation.cache_codec import CacheFormatError, decode_result, encode_result
from compiler.compilation.signed_file import read_signed, write_signed
from compiler.load.tool_digest import tool_digest
from compiler.load.user_key import cache_key
from compiler.model import EnvironmentConfig

if TYPE_CHECKING:
    from compiler.load.workspace import Workspace
    from compiler.validation.validate import FileResult

CACHE_DIR = ".ndrc/cache"
# What this process last loaded or saved, so validate-then-compile in one process reads the file once.
_IN_PROCESS: dict[Path, tuple[str, dict[str, tuple[str, FileResult]], dict[str, tuple[str, Any]]]] = {}
CACHE_FORMAT = "ndrc-validate-cache"
CACHE_VERSION = 3  # 3: header line + signed body (compiler.compilation.signed_file), items as their lines


def _read_entries(path: Path, fingerprint: str, key: bytes) -> dict[str, tuple[str, Any]]:
    """The stored entries (still encoded: each is decoded when it is asked for) if the file is this format
    and version, authentic and for this fingerprint."""
    signed = read_signed(path, CACHE_FORMAT, CACHE_VERSION, key)
    if signed is None or signed[0].get("fingerprint") != fingerprint:
        return {}
    try:
        stored = json.loads(signed[1])
        return {str(relative): (str(digest), encoded) for relative, (digest, encoded) in stored.items()}
    except (ValueError, TypeError, AttributeError):
        return {}


def _fingerprint(environment: EnvironmentConfig) -> str:
    digest = hashlib.sha256(tool_digest().encode())
    digest.update(environment.name.encode())
    digest.update(json.dumps(environment.settings, sort_keys=True, default=str).encode())
    return digest.hexdigest()


def inputs_fingerprint(environment: EnvironmentConfig, sources: list[tuple[str, str]]) -> str:
    """One hash of every input of a build: the tool, the environment and each spec file's path and content
    hash (hex SHA-256)."""
    digest = hashlib.sha256(_fingerprint(environment).encode())
    for relative, content_digest in sources:
        digest.update(relative.encode() + b"\0" + bytes.fromhex(content_digest))
    return digest.hexdigest()


@dataclass
class FileCache:
    """`relative -> (content digest, result)`. What the file held stays encoded until a file with that
    digest asks for it: a compile after a separate `ndrc validate` decodes each result once, and an entry
    that does not decode (a format mistake of this ndrc) only costs validating that file again."""

    path: Path | None
    fingerprint: str
    entries: dict[str, tuple[str, FileResult]] = field(default_factory=dict)  # decoded or put
    dirty: bool = False
    key: bytes = field(default=b"", repr=False)
    encoded: dict[str, tuple[str, Any]] = field(default_factory=dict, repr=False)  # as stored: read or put

    @classmethod
    def open(cls, workspace: Workspace, environment: EnvironmentConfig) -> FileCache:
        if os.environ.get("NDRC_NO_CACHE"):
            return cls(None, "")
        key = cache_key()
        if key is None:
            return cls(None, "")
        fingerprint = _fingerprint(environment)
        path = workspace.root / CACHE_DIR / f"validate-{environment.name}.json"
        remembered = _IN_PROCESS.get(path)
        if remembered is not None and remembered[0] == fingerprint:
            return cls(path, fingerprint, dict(remembered[1]), key=key, encoded=dict(remembered[2]))
        encoded = _read_entries(path, fingerprint, key)
        # An unreadable file or one of another version or origin is rewritten on save.
        return cls(path, fingerprint, dirty=path.exists() and not encoded, key=key, encoded=encoded)

    def get(self, relative: str, digest: str) -> FileResult | None:
        entry = self.entries.get(relative)
        if entry is not None and entry[0] == digest:
            return entry[1]
        stored = self.encoded.get(relative)
        if stored is None or stored[0] != digest:
            return None
        try:
            result = decode_result(stored[1])
        except CacheFormatError:
            return None
        self.entries[relative] = (digest, result)
        return result

    def put(self, relative: str, digest: str, result: FileResult) -> None:
        if self.path is None:
            return
        try:
            self.encoded[relative] = (digest, encode_result(result))
        except TypeError:
            self.encoded.pop(relative, None)
            return  # holds a value the cache cannot store as data; validated again next time
        self.entries[relative] = (digest, result)
        self.dirty = True

    def retain(self, relatives: set[str]) -> None:
        """Forget files that no longer exist."""
        stale = (set(self.entries) | set(self.encoded)) - relatives
        for relative in stale:
            self.entries.pop(relative, None)
            self.encoded.pop(relative, None)
        self.dirty = self.dirty or bool(stale)

    def save(self) -> None:
        if self.path is None:
            return
        _IN_PROCESS[self.path] = (self.fingerprint, dict(self.entries), dict(self.encoded))
        if not self.dirty:
            return
        body = json.dumps(
            {relative: [digest, stored] for relative, (digest, stored) in self.encoded.items()},
            sort_keys=True,
            separators=(",", ":"),
        ).encode("utf-8")
        write_signed(self.path, CACHE_FORMAT, CACHE_VERSION, self.key, body, fingerprint=self.fingerprint)
