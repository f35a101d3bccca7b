"""One hash of everything besides a workspace's own files that shapes what ndrc makes of it: the ndrc
version, the schemas, the compiler package (its code and JSONata expressions) and the runtime sources (whose
content hash names the code archive the pipelines reference). A cache made by another ndrc is discarded."""

from __future__ import annotations

import functools
import hashlib
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
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                digest.update(f"{label}/{path.relative_to(folder).as_posix()}".encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()
