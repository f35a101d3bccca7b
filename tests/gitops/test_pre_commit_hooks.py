"""`.pre-commit-hooks.yaml` run by the real pre-commit tool in a throwaway repository, as a team would use it.

The hooks repository is a snapshot of this checkout's working tree (committed into a temporary git repository),
so the test exercises the hooks and the ndrc they install exactly as they are now.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FG_C = Path("specs/ndr-prod/fg_c_builder#v1.yaml")
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "ndrc tests",
    "GIT_AUTHOR_EMAIL": "tests@ndrc.invalid",
    "GIT_COMMITTER_NAME": "ndrc tests",
    "GIT_COMMITTER_EMAIL": "tests@ndrc.invalid",
}

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def run(
    *command: str, cwd: Path, env: dict[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    if check and done.returncode != 0:
        raise AssertionError(f"{' '.join(command)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done


def snapshot_of_this_checkout(target: Path, env: dict[str, str]) -> str:
    """Commit the tracked and untracked (not ignored) files of the working tree into a new repository."""
    listed = run("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=REPO).stdout
    for relative in filter(None, listed.split("\0")):
        source = REPO / relative
        if source.is_file():
            (target / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / relative)
    run("git", "init", "-q", cwd=target)
    run("git", "add", "-A", cwd=target)
    run("git", "commit", "-q", "-m", "snapshot", cwd=target, env=env)
    return run("git", "rev-parse", "HEAD", cwd=target).stdout.strip()


@dataclass
class Workspace:
    root: Path
    env: dict[str, str]

    def ndrc(self, *args: str) -> None:
        run(sys.executable, "-c", "from compiler.cli import main; main()", *args, cwd=self.root, env=self.env)

    def commit(self, message: str) -> subprocess.CompletedProcess[str]:
        run("git", "add", "-A", cwd=self.root)
        return run("git", "commit", "-m", message, cwd=self.root, env=self.env, check=False)

    def head(self) -> str:
        return run("git", "rev-parse", "HEAD", cwd=self.root).stdout.strip()

    def edit(self, old: str, new: str) -> None:
        path = self.root / FG_C
        text = path.read_text()
        assert old in text
        path.write_text(text.replace(old, new, 1))


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    base = tmp_path_factory.mktemp("pre-commit")
    env = {**os.environ, **GIT_IDENTITY, "PRE_COMMIT_HOME": str(base / "cache"), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    env.pop("NDRC_ENV", None)
    hooks = base / "hooks"
    hooks.mkdir()
    rev = snapshot_of_this_checkout(hooks, env)
    root = base / "team"
    root.mkdir()
    shutil.copytree(REPO / "specs", root / "specs")
    shutil.copy2(REPO / "ndrc.yaml", root / "ndrc.yaml")
    # as the README's GitOps section says: `.ndrc/` holds this checkout's caches and emulator state, never
    # committed (the validate hook refreshes its caches, which pre-commit would report as modified files)
    (root / ".gitignore").write_text(".ndrc/\n")
    (root / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {hooks}\n    rev: {rev}\n    hooks:\n"
        "      - id: ndrc-validate\n      - id: ndrc-compile-check\n"
    )
    team = Workspace(root, env)
    run("git", "init", "-q", cwd=root)
    team.ndrc("compile")
    initial = team.commit("specs and their build")
    assert initial.returncode == 0, initial.stderr
    run(sys.executable, "-m", "pre_commit", "install", cwd=root, env=env)
    run(sys.executable, "-m", "pre_commit", "install-hooks", cwd=root, env=env)  # builds the hooks' ndrc once
    yield team


def test_a_good_commit_passes_both_hooks(workspace: Workspace) -> None:
    workspace.edit("z_max: 6.0", "z_max: 5.0")
    workspace.ndrc("compile")
    done = workspace.commit("fg_c z_max 5")
    assert done.returncode == 0, done.stdout + done.stderr
    output = done.stdout + done.stderr
    assert "ndrc validate" in output and "ndrc compile --check" in output and "Failed" not in output


def test_a_bad_spec_is_refused_with_its_location(workspace: Workspace) -> None:
    before = workspace.head()
    workspace.edit("z_max: 5.0", "z_max: six")
    done = workspace.commit("a broken spec")
    assert done.returncode != 0
    output = done.stdout + done.stderr
    assert f"{FG_C}:20:10:" in output and "z_max" in output
    assert workspace.head() == before
    workspace.edit("z_max: six", "z_max: 5.0")
    run("git", "add", "-A", cwd=workspace.root)


def test_a_spec_change_without_recompiling_is_refused(workspace: Workspace) -> None:
    before = workspace.head()
    workspace.edit("z_max: 5.0", "z_max: 4.5")
    done = workspace.commit("forgot to compile")
    assert done.returncode != 0
    output = done.stdout + done.stderr
    assert "build is out of date" in output and "ml_projects_parameters.jsonl: changed" in output
    assert workspace.head() == before
