"""What is under `specs/`, by one rule every command shares (validate, compile, plan, publish).

- Hidden entries (a name starting with `.`) are skipped.
- A symbolic link is followed when its target is inside the workspace: a symlinked project folder or
  subfolder is read like a real one and never vanishes.
- A link whose target leaves the workspace, does not exist or loops, a folder that contains itself, and
  anything that is not a regular file or folder (a FIFO, a socket, a device) is a located error
  (`path.symlink`, `path.not-a-file`) and nothing of it is read, so a FIFO cannot hang a run.
- Project folders are the first-level folders found by this same walk.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from compiler.diagnostics import Diagnostic, Location, error
from compiler.rule_catalog import IO_READ, PATH_NOT_A_FILE, PATH_SYMLINK


@dataclass
class SpecTree:
    files: list[tuple[Path, str]] = field(default_factory=list)  # regular files with workspace-relative paths
    stats: dict[str, os.stat_result] = field(default_factory=dict)  # each file's status, taken by the walk
    problems: list[Diagnostic] = field(default_factory=list)
    projects: set[str] = field(default_factory=set)


class _Refused(Exception):
    """An entry the rule refuses; the message says why."""


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def _follow(link: Path, root: Path) -> Path:
    """The resolved target of a link, if it is inside the workspace and exists."""
    try:
        target = Path(os.path.realpath(link, strict=True))
    except FileNotFoundError:
        raise _Refused(f"symbolic link to {os.readlink(link)!r}, which does not exist") from None
    except (OSError, RuntimeError):
        raise _Refused("symbolic link that loops (it points back at itself)") from None
    if not target.is_relative_to(root):
        raise _Refused(f"symbolic link to {target}, outside the workspace; only links inside it are followed")
    return target


def scan_specs(specs_dir: Path, root: Path) -> SpecTree:
    """Every regular file under `specs_dir` (sorted by relative path), the problems found, the projects."""
    tree = SpecTree()
    root = Path(os.path.realpath(root))
    base = specs_dir.relative_to(root).as_posix() if specs_dir.is_relative_to(root) else "specs"
    if specs_dir.is_symlink():
        try:
            real = _follow(specs_dir, root)
        except _Refused as refused:
            tree.problems.append(error(Location(base), PATH_SYMLINK, str(refused)))
            return tree
    else:
        real = Path(os.path.realpath(specs_dir))
    if real.is_dir():
        _walk(specs_dir, real, base, root, frozenset({real}), tree, depth=0)
    tree.files.sort(key=lambda pair: pair[1])
    tree.problems.sort(key=lambda d: d.sort_key())
    return tree


def _walk(
    folder: Path, real_folder: Path, prefix: str, root: Path, ancestors: frozenset[Path], tree: SpecTree, depth: int
) -> None:
    try:
        with os.scandir(folder) as listing:  # unsorted: scan_specs sorts what it found once, at the end
            entries = list(listing)
    except OSError as problem:
        tree.problems.append(error(Location(prefix), IO_READ, f"cannot list the folder: {problem.strerror}"))
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        relative = f"{prefix}/{entry.name}"
        path = _child(folder, entry.name)
        status: os.stat_result | None
        try:
            if entry.is_symlink():
                real = _follow(path, root)
                status = real.stat()
                mode = status.st_mode
            else:
                # Not a link, inside a resolved folder: the directory entry already knows its type, and a
                # folder's real path is its parent's plus its name (no realpath call).
                is_dir = entry.is_dir(follow_symlinks=False)
                status = None if is_dir else entry.stat(follow_symlinks=False)
                mode = _DIR if is_dir else status.st_mode if status else 0
                real = real_folder / entry.name if is_dir else real_folder
        except _Refused as refused:
            tree.problems.append(error(Location(relative), PATH_SYMLINK, str(refused)))
            continue
        except OSError as problem:
            tree.problems.append(error(Location(relative), IO_READ, f"cannot read: {problem.strerror}"))
            continue
        if stat.S_ISDIR(mode):
            if real in ancestors:
                tree.problems.append(
                    error(
                        Location(relative),
                        PATH_SYMLINK,
                        "symbolic link that loops (it points at a folder containing it)",
                    )
                )
                continue
            if depth == 0:
                tree.projects.add(entry.name)
            _walk(path, real, relative, root, ancestors | {real}, tree, depth + 1)
        elif stat.S_ISREG(mode):
            tree.files.append((path, relative))
            if status is not None:
                tree.stats[relative] = status
        else:
            tree.problems.append(
                error(Location(relative), PATH_NOT_A_FILE, f"{_kind(mode)}; only regular files are read under specs/")
            )


_DIR = stat.S_IFDIR


def _child(folder: Path, name: str) -> Path:
    """`folder / name` without parsing the name again (pathlib's own child constructor where it has one:
    this runs once per spec file, and parsing dominates an unchanged recompile's walk)."""
    make_child = getattr(folder, "_make_child_relpath", None)
    return make_child(name) if make_child is not None else folder / name  # type: ignore[no-any-return]
