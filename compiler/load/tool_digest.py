"""One hash of everything besides a workspace's own files that shapes what ndrc makes of it: the ndrc
version, the schemas, the compiler package (its code and JSONata expressions) and the runtime sources (whose
content hash names the code archive the pipelines reference). A cache made by another ndrc is discarded."""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

from compiler import __version__
from compiler.load.resources import resource_dir

_FORMAT = 2


def _tool_inputs() -> tuple[tuple[str, Path], ...]:
    import runtime

    return (
        ("schemas", resource_dir("schemas")),
        ("compiler", Path(__file__).resolve().parents[1]),
        ("runtime", Path(runtime.__file__).resolve().parent),
    )


@functools.cache
def tool_digest() -> str:
    digest = hashlib.sha256(f"{_FORMAT}:{__version__}".encode())
    for label, folder in _tool_inputs():
        for relative in _files(str(folder)):
            digest.update(f"{label}/{relative}".encode())
            with open(os.path.join(folder, relative), "rb") as handle:
                digest.update(handle.read())
    return digest.hexdigest()


def _files(root: str) -> list[str]:
    """Every file under root (posix paths relative to it, sorted; caches left out). Plain strings and
    os.walk: this runs on every command, pathlib's rglob costs several times more."""
    found: list[str] = []
    for folder, folders, names in os.walk(root):
        folders[:] = [name for name in folders if name != "__pycache__"]
        base = os.path.relpath(folder, root).replace(os.sep, "/")
        found.extend(name if base == "." else f"{base}/{name}" for name in names if not name.endswith(".pyc"))
    return sorted(found)
