"""The runtime code the pipeline steps run: a content-addressed bundle computed at compile time.

The bundle is two files under `s3://<artifacts bucket>/runtime/<sha256>/`:
- `runtime.zip`: the `runtime` package (stored, not deflated: byte-identical on every machine);
- `launcher.py`: puts the zip on `sys.path` and runs `python -m runtime <job> ...` (what the steps call).
`<sha256>` hashes the package sources (relative path and bytes of every file), so the URI changes exactly
when the code does and an old pipeline definition keeps pointing at the code it was compiled with.
`ndrc publish` uploads the two files (artifacts of kind `runtime_bundle`) before the pipelines.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

PACKAGE = "runtime"
CODE_DIR = "/opt/ml/processing/input/code"
ARCHIVE = "runtime.zip"
LAUNCHER = "launcher.py"
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_SKIP_PARTS = {"__pycache__"}
_SKIP_SUFFIXES = (".pyc", ".pyo")

LAUNCHER_SOURCE = f'''"""Runs the bundled runtime: `python3 launcher.py <job> ...` == `python -m runtime <job> ...`."""
import os
import runpy
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "{ARCHIVE}"))
sys.argv[0] = "{PACKAGE}"
runpy.run_module("{PACKAGE}", run_name="__main__", alter_sys=True)
'''


@dataclass(frozen=True)
class RuntimeBundle:
    digest: str
    archive: bytes
    launcher: bytes
    sources: tuple[str, ...]

    def prefix_uri(self, bucket: str) -> str:
        return f"s3://{bucket}/{PACKAGE}/{self.digest}/"


def package_root() -> Path:
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"the {PACKAGE!r} package is not importable; install ndrc with its runtime")
    return Path(next(iter(spec.submodule_search_locations)))


def _files(root: Path) -> list[Path]:
    return sorted(
        (
            p
            for p in root.rglob("*")
            if p.is_file() and not _SKIP_PARTS & set(p.parts) and p.suffix not in _SKIP_SUFFIXES
        ),
        key=lambda p: p.relative_to(root).as_posix(),
    )


def _archive(entries: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, content in entries:
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.external_attr = 0o644 << 16
            info.create_system = 3
            archive.writestr(info, content)
    return buffer.getvalue()


@lru_cache(maxsize=4)
def runtime_bundle(root: Path | None = None) -> RuntimeBundle:
    """The bundle of the runtime package at `root` (default: the importable `runtime` package)."""
    base = root or package_root()
    entries = [(f"{PACKAGE}/{p.relative_to(base).as_posix()}", p.read_bytes()) for p in _files(base)]
    digest = hashlib.sha256()
    for name, content in [(LAUNCHER, LAUNCHER_SOURCE.encode("utf-8")), *entries]:
        digest.update(name.encode("utf-8") + b"\0" + hashlib.sha256(content).digest())
    return RuntimeBundle(
        digest=digest.hexdigest(),
        archive=_archive(entries),
        launcher=LAUNCHER_SOURCE.encode("utf-8"),
        sources=tuple(name for name, _ in entries),
    )
