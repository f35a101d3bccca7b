"""A plain `ndrc local status|down` in the workspace `ndrc demo` ran from lists and stops the demo's own
environment (recorded in `.ndrc/demo.json`), labelled as the demo's, beside the workspace's own emulator."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
import yaml
from click.testing import CliRunner

from compiler.cli import cli
from compiler.local import daemon, demo_state, demo_workspace
from compiler.local.emulator import LOOPBACK, free_port
from compiler.orchestration.names import LIVE, Orchestration
from compiler.validation.workspace_config import load_workspace

REPO = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.emulator


def _alive(pid: int) -> bool:
    cmdline = Path(f"/proc/{pid}/cmdline")
    try:
        return b"compiler.local.emulator" in cmdline.read_bytes()
    except OSError:
        return False


@pytest.fixture
def demo_left_running(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, Path]]:
    """A source workspace (the sample's copy, its own emulator on a free port, not started) and a demo
    environment as `ndrc demo` leaves it: the demo workspace copy's emulator running on another free port,
    recorded in the source workspace."""
    for name in list(os.environ):
        if name.startswith("AWS_") or name == "NDRC_ENV":
            monkeypatch.delenv(name)
    source = tmp_path / "ws"
    source.mkdir()
    shutil.copytree(REPO / "specs", source / "specs")
    config = yaml.safe_load((REPO / "ndrc.yaml").read_text())
    config["environments"]["local"]["endpoint_url"] = f"http://{LOOPBACK}:{free_port()}"
    (source / "ndrc.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    copy = source / ".ndrc" / "demo" / "workspace"
    demo_workspace.prepare(source, copy, ("ndr-prod",), demo_workspace.read_overlay())
    demo_workspace.prepare_endpoint(copy / "ndrc.yaml", "local", f"http://{LOOPBACK}:{free_port()}")
    workspace = load_workspace(copy)
    daemon.up(workspace, workspace.environment("local"), port=free_port())
    demo_state.remember(source, copy)
    monkeypatch.chdir(source)
    yield source, copy
    daemon.down(workspace, workspace.environment("local"))


def test_plain_status_lists_the_demo_environment_and_its_executions(demo_left_running: tuple[Path, Path]) -> None:
    source, copy = demo_left_running
    demo = demo_state.find(source)
    assert demo is not None and demo.workspace.root == copy.resolve()
    emulator, _ = demo_state.status(demo)
    # one execution on the demo's emulator, of a state machine named as the demo's live machine
    sfn = boto3.client(
        "stepfunctions",
        endpoint_url=emulator.endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    orchestration = Orchestration(demo.environment)
    machine = sfn.create_state_machine(
        name=orchestration.name(LIVE),
        roleArn="arn:aws:iam::123456789012:role/demo",
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
    )
    sfn.start_execution(stateMachineArn=machine["stateMachineArn"], name="demo-live-1")

    result = CliRunner().invoke(cli, ["local", "status"])

    assert result.exit_code == 0, result.output  # the workspace's own emulator is stopped; the demo's answers
    lines = result.output.splitlines()
    assert lines[0].startswith("emulator stopped (would listen at")
    assert lines[1] == f"demo environment (`ndrc demo`, workspace copy {copy.resolve()}):"
    assert lines[2].startswith(f"  emulator running at {emulator.endpoint} (pid {emulator.pid}")
    assert any(orchestration.name(LIVE) in line and "demo-live-1" in line for line in lines[3:]), result.output
    assert lines[-1] == "  `ndrc local down` stops the demo environment"


def test_plain_down_stops_the_demo_environment_and_forgets_it(demo_left_running: tuple[Path, Path]) -> None:
    source, _ = demo_left_running
    demo = demo_state.find(source)
    assert demo is not None
    emulator, _ = demo_state.status(demo)
    assert emulator.pid is not None and _alive(emulator.pid)

    result = CliRunner().invoke(cli, ["local", "down"])

    assert result.exit_code == 0, result.output
    assert f"demo environment (`ndrc demo`, workspace copy {demo.workspace.root}):" in result.output
    assert f"  emulator stopped (was at {emulator.endpoint})" in result.output
    assert not _alive(emulator.pid)
    assert demo_state.find(source) is None and not demo_state.record_path(source).exists()
    after = CliRunner().invoke(cli, ["local", "status"])
    assert after.exit_code == 1 and "demo environment" not in after.output


def test_a_record_naming_a_missing_workspace_is_ignored(tmp_path: Path) -> None:
    demo_state.remember(tmp_path, tmp_path / "gone")
    assert demo_state.recorded(tmp_path) is None
    demo_state.record_path(tmp_path).write_text("not json")
    assert demo_state.find(tmp_path) is None
