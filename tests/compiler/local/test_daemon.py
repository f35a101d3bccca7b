"""`ndrc local up|down|status`, and the README's main command on a fresh workspace with no AWS account."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from compiler.local.emulator import free_port

REPO_ROOT = Path(__file__).resolve().parents[3]

pytestmark = pytest.mark.emulator
NDRC = str(Path(sys.executable).with_name("ndrc"))


@pytest.fixture
def fresh_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A copy of the sample workspace whose `local` emulator port is free, and no AWS settings at all."""
    for name in list(os.environ):
        if name.startswith("AWS_") or name in (
            "ML_PROJECTS_PARAMETERS_TABLE_NAME",
            "JOB_SPEC_DDB_TABLE_NAME",
            "NDRC_ENV",
        ):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    root = tmp_path / "ws"
    root.mkdir()
    shutil.copytree(REPO_ROOT / "specs", root / "specs")
    config = yaml.safe_load((REPO_ROOT / "ndrc.yaml").read_text())
    config["environments"]["local"]["endpoint_url"] = f"http://127.0.0.1:{free_port()}"
    (root / "ndrc.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    yield root
    subprocess.run([NDRC, "local", "down"], cwd=root, capture_output=True, timeout=30, check=False)


def run(root: Path, command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        shell=True,
        cwd=root,
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "PATH": f"{Path(NDRC).parent}:{os.environ['PATH']}"},
    )


def test_up_status_down(fresh_workspace: Path) -> None:
    assert run(fresh_workspace, "ndrc local status").returncode == 1
    up = run(fresh_workspace, "ndrc local up")
    assert up.returncode == 0 and "emulator running at http://127.0.0.1:" in up.stdout
    pid = json.loads((fresh_workspace / ".ndrc" / "emulator.pid").read_text())["pid"]
    assert b"compiler.local.emulator" in Path(f"/proc/{pid}/cmdline").read_bytes()
    again = run(fresh_workspace, "ndrc local up")
    assert again.returncode == 0 and f"pid {pid}" in again.stdout
    assert run(fresh_workspace, "ndrc local status").returncode == 0
    down = run(fresh_workspace, "ndrc local down")
    assert down.returncode == 0 and not (fresh_workspace / ".ndrc" / "emulator.pid").exists()
    cmdline = Path(f"/proc/{pid}/cmdline")
    assert not cmdline.exists() or b"compiler.local.emulator" not in cmdline.read_bytes()
    assert run(fresh_workspace, "ndrc local status").returncode == 1


def test_local_env_refuses_a_non_loopback_environment(fresh_workspace: Path) -> None:
    result = run(fresh_workspace, "ndrc local up --env dev")
    assert result.returncode == 2 and "no endpoint_url on 127.0.0.1" in result.stderr


def test_readme_main_command_on_a_fresh_machine(fresh_workspace: Path) -> None:
    """Provision starts the emulator on demand; publish applies everything; a second publish is a no-op."""
    main = run(fresh_workspace, "ndrc provision --seed-routing && ndrc compile && ndrc publish --yes")
    assert main.returncode == 0, main.stdout + main.stderr
    assert "publish done:" in main.stdout and "applied" in main.stdout
    plan = run(fresh_workspace, "ndrc plan")
    assert plan.returncode == 0 and "No changes." in plan.stdout
    again = run(fresh_workspace, "ndrc publish --yes")
    assert again.returncode == 0 and "nothing to do" in again.stdout
