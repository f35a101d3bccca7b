"""`ndrc plan` / `ndrc publish` through the CLI: saved plans, stale plans, account check, confirmation, kill -9."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from publish_helpers import Sandbox, job_item, route

from compiler.cli import cli
from compiler.deploy.plan import load_plan
from compiler.deploy.publish import apply_changes, make_plan, open_deployment, publish

pytestmark = pytest.mark.emulator


def ndrc(sandbox: Sandbox, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, [*args, "--workspace", str(sandbox.root)])
    return result.exit_code, result.output


def build_with(sandbox: Sandbox, folder: str, eps: int) -> Path:
    items = [job_item(p, "fg_c_builder", eps=eps) for p in ("alpha", "beta", "gamma")]
    return sandbox.write_build(folder, items=items, routes=[route("acme", "hq", "alpha")])


def test_plan_exit_codes_and_formats(provisioned: Sandbox) -> None:
    build = str(build_with(provisioned, "b1", 1))
    code, output = ndrc(provisioned, "plan", "--build", build)
    assert code == 1 and "+ create alpha / fg_c_builder#v1" in output and "Plan: 4 to create" in output
    code, output = ndrc(provisioned, "plan", "--build", build, "--format", "json")
    assert code == 1 and json.loads(output)["summary"]["create"] == 4
    code, output = ndrc(provisioned, "plan", "--build", build, "--format", "markdown")
    assert code == 1 and output.startswith("<!-- ndrc-plan:local -->")
    assert ndrc(provisioned, "publish", "--build", build, "--yes")[0] == 0
    code, output = ndrc(provisioned, "plan", "--build", build)
    assert code == 0 and "No changes." in output


def test_publish_without_a_terminal_needs_yes(provisioned: Sandbox) -> None:
    code, output = ndrc(provisioned, "publish", "--build", str(build_with(provisioned, "b1", 1)))
    assert code == 2 and "pass --yes" in output
    assert provisioned.items(provisioned.env.parameters_table) == {}


def test_saved_plan_is_applied_only_with_the_build_it_was_made_from(provisioned: Sandbox, tmp_path: Path) -> None:
    saved = tmp_path / "plan.json"
    build = str(build_with(provisioned, "b1", 1))
    assert ndrc(provisioned, "plan", "--build", build, "--out", str(saved))[0] == 1
    build_with(provisioned, "b1", 2)  # the build moves on after the plan was reviewed
    code, output = ndrc(provisioned, "publish", "--plan", str(saved), "--build", build, "--yes")
    assert code == 2 and "manifest sha256" in output and "nothing was written" in output
    assert provisioned.items(provisioned.env.parameters_table) == {}
    build_with(provisioned, "b1", 1)  # the reviewed build
    code, output = ndrc(provisioned, "publish", "--plan", str(saved), "--build", build, "--yes")
    assert code == 0, output
    deployed = provisioned.items(provisioned.env.parameters_table)
    assert {item["spec"]["eps"] for item in deployed.values()} == {1}
    code, output = ndrc(provisioned, "publish", "--plan", str(saved), "--build", build, "--yes")  # converges
    assert code == 0 and "4 already" in output


def test_stale_saved_plan_is_refused_and_nothing_is_written(provisioned: Sandbox, tmp_path: Path) -> None:
    assert ndrc(provisioned, "publish", "--build", str(build_with(provisioned, "b1", 1)), "--yes")[0] == 0
    saved = tmp_path / "plan.json"
    b2 = str(build_with(provisioned, "b2", 2))
    assert ndrc(provisioned, "plan", "--build", b2, "--out", str(saved))[0] == 1
    client = provisioned.aws()[0].client("dynamodb")
    client.update_item(  # someone changes an item the plan updates ...
        TableName=provisioned.env.parameters_table,
        Key={"project_name": {"S": "beta"}, "job_name": {"S": "fg_c_builder#v1"}},
        UpdateExpression="SET #o = :o",
        ExpressionAttributeNames={"#o": "owner"},
        ExpressionAttributeValues={":o": {"S": "someone-else"}},
    )
    client.update_item(  # ... and one the plan leaves alone
        TableName=provisioned.env.routing_table,
        Key={"org_key": {"S": "acme#hq"}},
        UpdateExpression="SET enabled = :f",
        ExpressionAttributeValues={":f": {"BOOL": False}},
    )
    before = provisioned.items(provisioned.env.parameters_table)
    code, output = ndrc(provisioned, "publish", "--plan", str(saved), "--build", b2, "--yes")
    assert code == 1 and "moved since the plan" in output
    assert "beta / fg_c_builder#v1: changed since the plan" in output
    assert f"dynamodb_scan {provisioned.env.routing_table}: resources the plan left alone changed" in output
    assert provisioned.items(provisioned.env.parameters_table) == before


def test_saved_plan_resumes_after_an_interrupted_apply(provisioned: Sandbox, tmp_path: Path) -> None:
    saved = tmp_path / "plan.json"
    build = str(build_with(provisioned, "b1", 1))
    ndrc(provisioned, "plan", "--build", build, "--out", str(saved))
    plan = load_plan(saved)
    target = open_deployment(provisioned.workspace, "local")
    apply_changes(target, plan.changes[:2])  # a publish of this plan that died after two writes
    code, output = ndrc(provisioned, "publish", "--plan", str(saved), "--build", build, "--yes")
    assert code == 0 and "2 applied, 2 already" in output


def test_wrong_account_is_refused(sandbox: Sandbox) -> None:
    config = yaml.safe_load((sandbox.root / "ndrc.yaml").read_text())
    config["environments"]["local"]["account_id"] = "999999999999"
    (sandbox.root / "ndrc.yaml").write_text(yaml.safe_dump(config))
    build = str(sandbox.write_build(items=[job_item("alpha", "delta_builder")]))
    for command in (["plan", "--build", build], ["publish", "--build", build, "--yes"], ["provision"]):
        code, output = ndrc(sandbox, *command)
        assert code == 2 and "belong to AWS account 123456789012" in output and "999999999999" in output
    tables = sandbox.aws()[0].client("dynamodb").list_tables()["TableNames"]
    assert sandbox.env.parameters_table not in tables


def settled_count(client: Any, table: str) -> int:
    """The item count once the server has finished the requests the killed process had in flight."""
    previous, count = -1, client.scan(TableName=table, Select="COUNT")["Count"]
    while count != previous:
        time.sleep(0.5)
        previous, count = count, client.scan(TableName=table, Select="COUNT")["Count"]
    return count


def test_kill_9_mid_publish_then_rerun_converges(provisioned: Sandbox) -> None:
    items = [
        job_item(f"p{n:03d}", job)
        for n in range(60)
        for job in ("delta_builder", "fg_a_builder", "fg_c_builder", "if_training", "fg_b_builder")
    ]
    items += [job_item(f"p{n:03d}", "inference_predictions", version=f"v{v}") for n in range(60) for v in range(8)]
    build = provisioned.write_build(items=items)
    table = provisioned.env.parameters_table
    client = provisioned.aws()[0].client("dynamodb")
    ndrc_script = Path(sys.executable).with_name("ndrc")
    process = subprocess.Popen(
        [str(ndrc_script), "publish", "--yes", "--build", str(build), "--workspace", str(provisioned.root)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=dict(os.environ),
    )
    deadline = time.monotonic() + 60
    written = 0
    while time.monotonic() < deadline and written < 100:
        written = client.scan(TableName=table, Select="COUNT")["Count"]
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    partial = settled_count(client, table)
    assert 0 < partial < len(items), "the kill must land mid-publish"
    aws, log = provisioned.aws()
    interrupted = make_plan(provisioned.workspace, "local", build_dir=build, aws=aws)
    assert interrupted.drifted == 0 and {c.action for c in interrupted.changes} == {"create"}  # whole items only
    assert len(interrupted.changes) == len(items) - partial
    assert publish(provisioned.workspace, "local", build_dir=build, aws=aws).ok
    assert client.scan(TableName=table, Select="COUNT")["Count"] == len(items)
    log.reset()
    again = publish(provisioned.workspace, "local", build_dir=build, aws=aws)
    assert again.ok and not again.plan.has_changes and log.writes() == 0
    assert not make_plan(provisioned.workspace, "local", build_dir=build, aws=aws).drifted
