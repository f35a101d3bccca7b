"""Per-file validation cache keyed by content hashes, so an unchanged workspace recompiles in a blink.

The key of the whole cache is a fingerprint of everything besides the file that shapes a result: the ndrc
version, the schemas, the selected environment's settings and the operator catalog. Any change there
discards the cache.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from compiler import __version__
from compiler.load.resources import resource_dir
from compiler.model import EnvironmentConfig

if TYPE_CHECKING:
    from compiler.load.workspace import Workspace
    from compiler.validation.validate import FileResult

CACHE_DIR = ".ndrc/cache"
# What this process last loaded or saved, so validate-then-compile in one process reads the file once.
_IN_PROCESS: dict[Path, tuple[str, dict[str, tuple[str, Any]]]] = {}
_FORMAT = 1


def _tool_inputs() -> tuple[tuple[str, Path, str], ...]:
    """Everything besides the spec files that shapes compiled output: schemas, templates, the compiler
    itself and the runtime sources (whose content hash names the code archive the pipelines reference)."""
    import runtime

    return (
        ("schemas", resource_dir("schemas"), "*.json"),
        ("templates", resource_dir("templates"), "*"),
        ("compiler", Path(__file__).resolve().parents[1], "*.py"),  # the whole compiler package
        ("runtime", Path(runtime.__file__).resolve().parent, "*"),
    )


@functools.cache
def _tool_digest() -> str:
    digest = hashlib.sha256(f"{_FORMAT}:{__version__}".encode())
    for label, folder, pattern in _tool_inputs():
        for path in sorted(folder.rglob(pattern)):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                digest.update(f"{label}/{path.relative_to(folder).as_posix()}".encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


def _fingerprint(environment: EnvironmentConfig) -> str:
    digest = hashlib.sha256(_tool_digest().encode())
    digest.update(environment.name.encode())
    digest.update(json.dumps(environment.settings, sort_keys=True, default=str).encode())
    return digest.hexdigest()


def inputs_fingerprint(environment: EnvironmentConfig, sources: list[tuple[str, bytes]]) -> str:
    """One hash of every input of a build: the tool, the environment and each spec file's path and bytes."""
    digest = hashlib.sha256(_fingerprint(environment).encode())
    for relative, raw in sources:
        digest.update(relative.encode() + b"\0" + hashlib.sha256(raw).digest())
    return digest.hexdigest()


@dataclass
class FileCache:
    path: Path | None
    fingerprint: str
    entries: dict[str, tuple[str, Any]] = field(default_factory=dict)
    dirty: bool = False

    @classmethod
    def open(cls, workspace: Workspace, environment: EnvironmentConfig) -> FileCache:
        if os.environ.get("NDRC_NO_CACHE"):
            return cls(None, "")
        fingerprint = _fingerprint(environment)
        path = workspace.root / CACHE_DIR / f"validate-{environment.name}.pickle"
        remembered = _IN_PROCESS.get(path)
        if remembered is not None and remembered[0] == fingerprint:
            return cls(path, fingerprint, dict(remembered[1]))
        entries: dict[str, tuple[str, Any]] = {}
        try:
            with path.open("rb") as handle:
                stored = pickle.load(handle)
            if stored.get("fingerprint") == fingerprint:
                entries = stored["entries"]
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, KeyError, TypeError, ImportError):
            entries = {}
        return cls(path, fingerprint, entries)

    def get(self, relative: str, raw: bytes) -> FileResult | None:
        entry = self.entries.get(relative)
        if entry and entry[0] == hashlib.sha256(raw).hexdigest():
            return entry[1]  # type: ignore[no-any-return]
        return None

    def put(self, relative: str, raw: bytes, result: FileResult) -> None:
        if self.path is None:
            return
        self.entries[relative] = (hashlib.sha256(raw).hexdigest(), result)
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
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(f".tmp-{os.getpid()}")
        with temporary.open("wb") as handle:
            pickle.dump({"fingerprint": self.fingerprint, "entries": self.entries}, handle, protocol=5)
        temporary.replace(self.path)
