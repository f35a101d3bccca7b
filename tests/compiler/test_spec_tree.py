"""One rule for what is under specs/: symbolic links inside the workspace are followed (a symlinked project
or subfolder never vanishes); links that leave the workspace, dangle or loop, and anything that is not a
regular file (a FIFO, a socket) are located errors. Validation, compile and publish's project list agree."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from compiler.cli import cli
from compiler.compilation.compile import compile_workspace, validate_with_cache
from compiler.errors import WorkspaceInvalid
from compiler.load.symlinks import scan_specs
from compiler.validation.workspace_config import load_workspace


def _problems(workspace_dir: Path) -> list[tuple[str, str]]:
    result = validate_with_cache(load_workspace(workspace_dir), "local")
    return [(d.path, d.rule) for d in result.diagnostics if d.is_error]


def test_a_symlinked_project_folder_inside_the_workspace_is_read(workspace_dir: Path, tmp_path: Path) -> None:
    before = compile_workspace(load_workspace(workspace_dir), "local", tmp_path / "before")
    (workspace_dir / "elsewhere").mkdir()
    (workspace_dir / "specs/p1").rename(workspace_dir / "elsewhere/p1")
    (workspace_dir / "specs/p1").symlink_to(workspace_dir / "elsewhere/p1", target_is_directory=True)
    after = compile_workspace(load_workspace(workspace_dir), "local", tmp_path / "after")
    assert [(a.path, a.content) for a in after.artifacts] == [(a.path, a.content) for a in before.artifacts]
    assert "p1" in scan_specs(workspace_dir / "specs", workspace_dir).projects


def test_a_symlinked_subfolder_is_followed_not_skipped(workspace_dir: Path) -> None:
    (workspace_dir / "more").mkdir()
    (workspace_dir / "more/notes.yaml").write_text("a: 1\n")
    (workspace_dir / "specs/p1/sub").symlink_to(workspace_dir / "more", target_is_directory=True)
    assert ("specs/p1/sub/notes.yaml", "path.layout") in _problems(workspace_dir)


@pytest.mark.parametrize("make", ["outside-dir", "outside-file", "dangling", "self-loop", "dir-loop"])
def test_links_that_leave_dangle_or_loop_are_located_errors(workspace_dir: Path, tmp_path: Path, make: str) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "fg_a_builder#v1.yaml").write_text("owner: x\n")
    link = workspace_dir / "specs/p1/extra.yaml"
    if make == "outside-dir":
        link = workspace_dir / "specs/p9"
        link.symlink_to(outside, target_is_directory=True)
    elif make == "outside-file":
        link.symlink_to(outside / "fg_a_builder#v1.yaml")
    elif make == "dangling":
        link.symlink_to(workspace_dir / "specs/p1/missing.yaml")
    elif make == "self-loop":
        link.symlink_to(link)
    else:
        link = workspace_dir / "specs/p1/again"
        link.symlink_to(workspace_dir / "specs/p1", target_is_directory=True)
    relative = link.relative_to(workspace_dir).as_posix()
    assert (relative, "path.symlink") in _problems(workspace_dir)
    result = CliRunner().invoke(cli, ["validate", "--workspace", str(workspace_dir)])
    assert result.exit_code == 1 and f"{relative}:1:1" in result.output and "internal error" not in result.output
    with pytest.raises(WorkspaceInvalid):
        compile_workspace(load_workspace(workspace_dir), "local")


def test_a_new_bad_link_is_reported_even_when_the_build_is_current(workspace_dir: Path) -> None:
    compile_workspace(load_workspace(workspace_dir), "local")
    (workspace_dir / "specs/p1/extra.yaml").symlink_to("/etc/hostname")
    with pytest.raises(WorkspaceInvalid) as raised:
        compile_workspace(load_workspace(workspace_dir), "local")
    assert [d.rule for d in raised.value.diagnostics if d.is_error] == ["path.symlink"]


def test_a_fifo_under_specs_is_an_error_not_a_hang(workspace_dir: Path) -> None:
    os.mkfifo(workspace_dir / "specs/p1/fg_a_builder#v1.yaml")
    command = [
        sys.executable,
        "-c",
        "from compiler.cli import main; main()",
        "validate",
        "--workspace",
        str(workspace_dir),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1, done.stderr
    assert "specs/p1/fg_a_builder#v1.yaml:1:1: error [path.not-a-file]" in done.stdout


def test_scan_lists_projects_from_the_same_walk(workspace_dir: Path) -> None:
    shutil.copytree(workspace_dir / "specs/p1", workspace_dir / "specs/p2")
    (workspace_dir / ".hidden").mkdir()
    (workspace_dir / "specs/.git").mkdir()
    tree = scan_specs(workspace_dir / "specs", workspace_dir)
    assert tree.projects == {"p1", "p2"} and not tree.problems


def test_a_folder_that_cannot_be_listed_is_a_located_io_read_error(
    workspace_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Running as root, a chmod 000 folder stays readable, so the refusal is made where the walk lists folders.
    listing = os.scandir
    refused = workspace_dir / "specs" / "p1"

    def scandir(path: Any) -> Any:
        if Path(path) == refused:
            raise PermissionError(13, "Permission denied")
        return listing(path)

    monkeypatch.setattr(os, "scandir", scandir)
    assert ("specs/p1", "io.read") in _problems(workspace_dir)
