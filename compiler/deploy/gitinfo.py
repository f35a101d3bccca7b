"""Facts about the git checkout a workspace lives in: its commit, whether it is dirty, a tree at a ref.

Only `git` itself is run (no library), with the workspace's folder as the working directory; a workspace
outside any git repository simply has no commit.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

from compiler.errors import UsageError
from compiler.load.workspace import CONFIG_FILE

GIT_TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class Checkout:
    commit: str
    dirty: bool

    def to_json(self) -> dict[str, object]:
        return {"commit": self.commit, "dirty": self.dirty}


def _git(root: Path, *args: str, binary: bool = False) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, check=False, timeout=GIT_TIMEOUT_SECONDS
        )
    except FileNotFoundError:
        raise UsageError("git is not installed (needed to read the workspace's git history)") from None
    except subprocess.TimeoutExpired:
        raise UsageError(f"git {' '.join(args)} did not finish in {GIT_TIMEOUT_SECONDS} s") from None


def checkout(root: Path) -> Checkout | None:
    """The commit checked out at `root` and whether the workspace folder has uncommitted changes; None outside
    a git repository (or without git)."""
    try:
        head = _git(root, "rev-parse", "--verify", "HEAD")
    except UsageError:
        return None
    if head.returncode != 0:
        return None
    status = _git(root, "status", "--porcelain", "--untracked-files=no", "--", ".")
    return Checkout(head.stdout.decode().strip(), bool(status.stdout.strip()))


def export_tree(root: Path, ref: str, destination: Path) -> tuple[Path, str]:
    """Write the workspace folder as it is at git `ref` into `destination` (tracked files only, through `git
    archive`: the repository and its worktrees are not touched). Returns the workspace folder inside
    `destination` and the full commit id the ref names."""
    inside = _git(root, "rev-parse", "--show-prefix")
    if inside.returncode != 0:
        raise UsageError(f"--base needs a git repository, and {root} is not inside one")
    if ref.startswith("-"):
        raise UsageError(f"--base {ref!r}: not a git revision")
    resolved = _git(root, "rev-parse", "--verify", "--end-of-options", f"{ref}^{{commit}}")
    if resolved.returncode != 0:
        raise UsageError(f"--base {ref!r}: no such commit, branch or tag in the repository at {root}")
    commit = resolved.stdout.decode().strip()
    prefix = inside.stdout.decode().strip()
    archive = _git(root, "archive", "--format=tar", commit, "--", ".")  # pathspec relative to the workspace
    if archive.returncode != 0:
        message = archive.stderr.decode(errors="replace").strip().splitlines()
        raise UsageError(
            f"--base {ref!r}: the workspace folder {prefix or '.'} is not in that commit"
            + (f" ({message[-1]})" if message else "")
        )
    destination.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(destination, filter="data")
    # Run from a subfolder, git archives that subfolder with paths relative to it; accept either layout.
    nested = destination / prefix
    if prefix and not (destination / CONFIG_FILE).is_file() and (nested / CONFIG_FILE).is_file():
        return nested, commit
    return destination, commit
