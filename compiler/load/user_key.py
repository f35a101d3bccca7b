"""This user's secret for authenticating the caches ndrc writes into a workspace (`.ndrc/cache/`).

The key lives outside the workspace (`$XDG_CACHE_HOME/ndrc/cache-key`, mode 0600), so a cache file written
anywhere else (say, committed in a pull request) does not carry a valid MAC and is ignored.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

KEY_FILE = "ndrc/cache-key"


def _user_cache_dir() -> Path:
    configured = os.environ.get("XDG_CACHE_HOME")
    return Path(configured) if configured else Path.home() / ".cache"


def _read_key(path: Path) -> bytes | None:
    try:
        key = bytes.fromhex(path.read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return None
    return key or None


def cache_key() -> bytes | None:
    """This user's secret for authenticating cache files (created on first use); None if unavailable."""
    path = _user_cache_dir() / KEY_FILE
    key = _read_key(path)
    if key is not None:
        return key
    import secrets  # only when the key is made (it imports random, which seeds a generator at import)

    temporary = path.with_name(f".cache-key.tmp-{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(secrets.token_hex(32) + "\n")
        with contextlib.suppress(FileExistsError):  # first writer wins; a racing process reads the winner's key
            os.link(temporary, path)
    except OSError:
        return None
    finally:
        temporary.unlink(missing_ok=True)
    return _read_key(path)
