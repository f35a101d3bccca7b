"""The emulator knows whose it is: another checkout's emulator is never reused or stopped silently, the
port can be chosen, and the pid file records it."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))  # --import-mode=importlib: the sibling test module
from test_daemon import NDRC, fresh_workspace, run  # noqa: F401  (fixture)

from compiler.local.emulator import free_port

pytestmark = pytest.mark.emulator


@pytest.fixture
def other_workspace(fresh_workspace: Path, tmp_path: Path) -> Iterator[Path]:  # noqa: F811
    """A second checkout whose `local` environment has the same port as the first."""
    other = tmp_path / "other"
    other.mkdir()
    (other / "specs").symlink_to(fresh_workspace / "specs")
    (other / "ndrc.yaml").write_text((fresh_workspace / "ndrc.yaml").read_text())
    yield other
    subprocess.run([NDRC, "local", "down"], cwd=other, capture_output=True, timeout=30, check=False)


def _port(root: Path) -> int:
    config = yaml.safe_load((root / "ndrc.yaml").read_text())
    return int(config["environments"]["local"]["endpoint_url"].rsplit(":", 1)[1])


def _identity(port: int) -> dict[str, object]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/ndrc-emulator/identity", timeout=5) as reply:
        return json.loads(reply.read())  # type: ignore[no-any-return]


def test_the_emulator_reports_its_workspace_and_the_pid_file_its_port(fresh_workspace: Path) -> None:  # noqa: F811
    assert run(fresh_workspace, "ndrc local up").returncode == 0
    port = _port(fresh_workspace)
    identity = _identity(port)
    recorded = json.loads((fresh_workspace / ".ndrc/emulator.pid").read_text())
    assert identity["workspace"] == str(fresh_workspace.resolve()) and identity["token"] == recorded["token"]
    assert recorded["port"] == port and recorded["pid"] == identity["pid"]
    # status reports the port the emulator really uses, whatever AWS_ENDPOINT_URL says
    status = run(fresh_workspace, "AWS_ENDPOINT_URL=http://127.0.0.1:1 ndrc local status")
    assert status.returncode == 0 and f"127.0.0.1:{port}" in status.stdout


def test_another_checkouts_emulator_is_refused_not_reused(fresh_workspace: Path, other_workspace: Path) -> None:  # noqa: F811
    assert run(fresh_workspace, "ndrc local up").returncode == 0
    port = _port(fresh_workspace)
    provision = run(other_workspace, "ndrc provision")
    assert provision.returncode == 2
    assert str(fresh_workspace.resolve()) in provision.stderr and "--port" in provision.stderr
    assert "already provisioned" not in provision.stdout
    status = run(other_workspace, "ndrc local status")
    assert status.returncode == 1 and str(fresh_workspace.resolve()) in status.stdout
    down = run(other_workspace, "ndrc local down")
    assert down.returncode == 0 and "emulator stopped" not in down.stdout and "left running" in down.stdout
    assert _identity(port)["workspace"] == str(fresh_workspace.resolve())  # still running


def test_local_up_port_runs_a_second_emulator_that_every_command_then_uses(
    fresh_workspace: Path,  # noqa: F811
    other_workspace: Path,
) -> None:
    assert run(fresh_workspace, "ndrc local up").returncode == 0
    second = free_port()
    up = run(other_workspace, f"ndrc local up --port {second}")
    assert up.returncode == 0 and f"127.0.0.1:{second}" in up.stdout, up.stdout + up.stderr
    assert _identity(second)["workspace"] == str(other_workspace.resolve())
    provision = run(other_workspace, "ndrc provision")
    assert provision.returncode == 0 and "created" in provision.stdout, provision.stdout + provision.stderr
    status = run(other_workspace, "ndrc local status")
    assert status.returncode == 0 and f"127.0.0.1:{second}" in status.stdout
    # the first workspace's emulator got none of it
    first = run(fresh_workspace, "ndrc provision")
    assert first.returncode == 0 and "created" in first.stdout


def test_a_port_held_by_another_program_fails_at_once_with_one_sentence(fresh_workspace: Path) -> None:  # noqa: F811
    (fresh_workspace / ".ndrc").mkdir()
    (fresh_workspace / ".ndrc/emulator.log").write_text("stale line from an earlier run\n")
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", _port(fresh_workspace)))
        holder.listen()
        result = run(fresh_workspace, "ndrc plan")
    assert result.returncode == 2
    assert "in use by a program that is not an AWS emulator" in result.stderr and "stale line" not in result.stderr
    assert len([line for line in result.stderr.splitlines() if line.strip()]) == 1
