"""Publish sets the state machines' logging and X-Ray tracing from ndrc.yaml; plan compares them (moto server
over HTTP)."""

from __future__ import annotations

import shutil
from typing import Any

import pytest
import yaml
from publish_helpers import REPO_ROOT, Sandbox

from compiler.deploy.aws import Aws
from compiler.deploy.owned import state_machine_arn
from compiler.deploy.publish import make_plan, publish
from compiler.errors import WorkspaceInvalid

pytestmark = pytest.mark.emulator
GROUP = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/vendedlogs/states/ndr-local"


@pytest.fixture
def workspace(provisioned: Sandbox) -> Sandbox:
    shutil.copytree(REPO_ROOT / "specs", provisioned.root / "specs")
    return provisioned


def _set_logging(sandbox: Sandbox, logging: dict[str, Any] | None) -> Aws:
    """Edits ndrc.yaml; returns a client of the edited environment (a run reads ndrc.yaml once)."""
    config = yaml.safe_load((sandbox.root / "ndrc.yaml").read_text())
    orchestration = config["environments"]["local"].setdefault("orchestration", {})
    orchestration.pop("logging", None)
    if logging is not None:
        orchestration["logging"] = logging
    (sandbox.root / "ndrc.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return sandbox.aws()[0]


def _described(aws: Aws, sandbox: Sandbox, flow: str) -> dict[str, Any]:
    client = aws.client("stepfunctions")
    return dict(client.describe_state_machine(stateMachineArn=state_machine_arn(aws, sandbox.name(flow))))


# Every state machine of the build (sorted by name): the live-outcome machine is compiled with `roles.events`.
MACHINES = ("backfill", "live-inference", "live-outcome")


def _machine_changes(sandbox: Sandbox, aws: Aws) -> list[tuple[str, str, list[str]]]:
    plan = make_plan(sandbox.workspace, "local", aws=aws)
    return sorted(
        (c.action, c.target, sorted(f["path"] for f in c.fields)) for c in plan.changes if c.kind == "state_machine"
    )


def test_machines_are_created_traced_and_logging_follows_ndrc_yaml(workspace: Sandbox) -> None:
    aws = _set_logging(workspace, None)
    assert publish(workspace.workspace, "local", aws=aws).ok
    for flow in MACHINES:
        described = _described(aws, workspace, flow)
        assert described["tracingConfiguration"] == {"enabled": True}
        assert described["loggingConfiguration"]["level"] == "OFF"  # no log group: nothing logged
    assert _machine_changes(workspace, aws) == []

    aws = _set_logging(workspace, {"log_group_arn": GROUP})  # default level ERROR with execution data
    changes = _machine_changes(workspace, aws)
    assert [(action, target) for action, target, _ in changes] == [
        ("update", workspace.name(flow)) for flow in MACHINES
    ]
    assert all(any(p.startswith("loggingConfiguration") for p in paths) for _, _, paths in changes)
    assert publish(workspace.workspace, "local", aws=aws).ok
    logging = _described(aws, workspace, "live-inference")["loggingConfiguration"]
    assert logging == {
        "level": "ERROR",
        "includeExecutionData": True,
        "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": GROUP + ":*"}}],
    }
    assert _machine_changes(workspace, aws) == []

    aws = _set_logging(workspace, {"log_group_arn": GROUP + ":*", "level": "ALL", "include_execution_data": False})
    assert {tuple(paths) for _, _, paths in _machine_changes(workspace, aws)} == {
        ("loggingConfiguration.includeExecutionData", "loggingConfiguration.level")
    }
    assert publish(workspace.workspace, "local", aws=aws).ok
    assert _described(aws, workspace, "backfill")["loggingConfiguration"]["level"] == "ALL"

    aws = _set_logging(workspace, None)  # switched off again: the update sends OFF
    assert len(_machine_changes(workspace, aws)) == len(MACHINES)
    assert publish(workspace.workspace, "local", aws=aws).ok
    assert _described(aws, workspace, "backfill")["loggingConfiguration"]["level"] == "OFF"
    assert _machine_changes(workspace, aws) == []


def test_a_log_group_that_is_not_one_is_a_located_error(workspace: Sandbox) -> None:
    with pytest.raises(WorkspaceInvalid) as raised:
        _set_logging(workspace, {"log_group_arn": "arn:aws:sns:us-east-1:123456789012:topic"})
    assert any("log_group_arn" in str(d) for d in raised.value.diagnostics)
