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
import hmac
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from compiler.compilation.cache_codec import CacheFormatError, decode_result, encode_result
from compiler.load.tool_digest import tool_digest
from compiler.load.user_key import cache_key
from compiler.model import EnvironmentConfig

if TYPE_CHECKING:
    from compiler.load.workspace import Workspace
    from compiler.validation.validate import FileResult

CACHE_DIR = ".ndrc/cache"
# What this process last loaded or saved, so validate-then-compile in one process reads the file once.
_IN_PROCESS: dict[Path, tuple[str, dict[str, tuple[str, Any]]]] = {}
CACHE_FORMAT = "ndrc-validate-cache"
CACHE_VERSION = 2


def _mac(key: bytes, fingerprint: str, entries: Any) -> str:
    text = json.dumps({"fingerprint": fingerprint, "entries": entries}, sort_keys=True, separators=(",", ":"))
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()


def _read_entries(path: Path, fingerprint: str, key: bytes) -> dict[str, tuple[str, Any]]:
    """The stored entries if the file is this format and version, authentic and for this fingerprint."""
    try:
        stored = json.loads(path.read_bytes())
        if not isinstance(stored, dict) or (stored.get("format"), stored.get("version")) != (
            CACHE_FORMAT,
            CACHE_VERSION,
        ):
            return {}
        if stored.get("fingerprint") != fingerprint:
            return {}
        raw_entries = stored["entries"]
        if not hmac.compare_digest(str(stored.get("mac")), _mac(key, fingerprint, raw_entries)):
            return {}
        entries = {}
        for relative, (digest, encoded) in raw_entries.items():
            entries[str(relative)] = (str(digest), decode_result(encoded))
        return entries
    except (OSError, ValueError, KeyError, TypeError, AttributeError, CacheFormatError):
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
    path: Path | None
    fingerprint: str
    entries: dict[str, tuple[str, Any]] = field(default_factory=dict)
    dirty: bool = False
    key: bytes = field(default=b"", repr=False)
    _encoded: dict[str, Any] = field(default_factory=dict, repr=False)  # results encoded by put(), reused

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
            return cls(path, fingerprint, dict(remembered[1]), key=key)
        entries = _read_entries(path, fingerprint, key)
        # An unreadable file or one of another version or origin is rewritten on save.
        return cls(path, fingerprint, entries, dirty=path.exists() and not entries, key=key)

    def get(self, relative: str, digest: str) -> FileResult | None:
        entry = self.entries.get(relative)
        if entry and entry[0] == digest:
            return entry[1]  # type: ignore[no-any-return]
        return None

    def put(self, relative: str, digest: str, result: FileResult) -> None:
        if self.path is None:
            return
        try:
            self._encoded[relative] = encode_result(result)
        except TypeError:
            return  # holds a value the cache cannot store as data; validated again next time
        self.entries[relative] = (digest, result)
        self.dirty = True

    def retain(self, relatives: set[str]) -> None:
        """Forget files that no longer exist."""
        stale = set(self.entries) - relatives
        for relative in stale:
            del self.entries[relative]
        self.dirty = self.dirty or bool(stale)

    def save(self) -> None:
        if self.path is None:
            return
        _IN_PROCESS[self.path] = (self.fingerprint, dict(self.entries))
        if not self.dirty:
            return
        entries = {
            relative: [digest, self._encoded.get(relative) or encode_result(result)]
            for relative, (digest, result) in self.entries.items()
        }
        # The entries are serialized once: the MAC covers that text and the file embeds it (the same bytes
        # as dumping the whole document with sorted keys, so `_read_entries` verifies it unchanged).
        entries_text = json.dumps(entries, sort_keys=True, separators=(",", ":"))
        fingerprint_text = json.dumps(self.fingerprint)
        mac = hmac.new(
            self.key, f'{{"entries":{entries_text},"fingerprint":{fingerprint_text}}}'.encode(), hashlib.sha256
        ).hexdigest()
        header = json.dumps(
            {"format": CACHE_FORMAT, "mac": mac, "version": CACHE_VERSION}, sort_keys=True, separators=(",", ":")
        )
        text = f'{{"entries":{entries_text},"fingerprint":{fingerprint_text},{header[1:]}'
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary = self.path.with_suffix(f".tmp-{os.getpid()}")
            temporary.write_text(text, encoding="utf-8")
            temporary.replace(self.path)
        except OSError:
            pass  # a cache that cannot be written (read-only checkout) only costs speed
