"""Fixtures shared by the tests of the build's change detection (source hashes, build record)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest


def _edit_keeping_size_and_mtime(path: Path) -> str:
    """A change within the modification time's granularity: same size, same mtime (only ctime moves).
    Returns the new text."""
    status = path.stat()
    text = path.read_text()
    edited = text.replace("s3://feat-bucket/fg_c/", "s3://feat-bucket/fg_x/")
    assert len(edited) == len(text) and edited != text
    path.write_text(edited)
    os.utime(path, ns=(status.st_atime_ns, status.st_mtime_ns))
    return edited


@pytest.fixture
def same_size_same_mtime_edit() -> Callable[[Path], str]:
    """Edit a spec as `touch -d` would hide it: same size and modification time, only the change time moves."""
    return _edit_keeping_size_and_mtime
