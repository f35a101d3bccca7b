"""The one layout of ndrc's cache files: a JSON header line, then the body exactly as it was signed.

The header names the file's format and version and carries the HMAC-SHA256 of the body's bytes, made with
the per-user key (`compiler.load.user_key`). A reader checks format, version and MAC over the bytes as
stored *before* it parses the body, so a file written elsewhere (committed in a pull request, copied from
another machine) or by another ndrc is ignored, and verifying costs one hash, not a re-serialization. The
body is data (JSON); nothing in any cache file is ever executed.

This module is on the unchanged-compile fast path: it imports only the standard library's basics.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
from pathlib import Path
from typing import Any


def mac(key: bytes, body: bytes) -> str:
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def read_signed(path: Path, file_format: str, version: int, key: bytes) -> tuple[dict[str, Any], bytes] | None:
    """(header, body) when the file is this format and version and its body is authentic; else None
    (also for a missing or unreadable file)."""
    try:
        header_line, _, body = path.read_bytes().partition(b"\n")
        header = json.loads(header_line)
    except (OSError, ValueError):
        return None
    if not isinstance(header, dict) or (header.get("format"), header.get("version")) != (file_format, version):
        return None
    if not hmac.compare_digest(str(header.get("mac")), mac(key, body)):
        return None
    return header, body


def write_signed(path: Path, file_format: str, version: int, key: bytes, body: bytes, **fields: Any) -> None:
    """Write atomically (a temporary file renamed over the old one); `fields` join the header. A file
    that cannot be written (read-only checkout) only costs speed: nothing is raised."""
    header = json.dumps(
        {**fields, "format": file_format, "mac": mac(key, body), "version": version}, sort_keys=True
    ).encode("utf-8")
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        temporary.write_bytes(header + b"\n" + body)
        temporary.replace(path)
