"""`publish --prune` of state machines and pipelines the build no longer has (moto over HTTP): shown in the
plan, deleted only with --prune, refused when every one of a kind would go, never a foreign resource."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from publish_helpers import Sandbox, job_item, pipeline, route, state_machine

from compiler.cli import cli
from compiler.deploy.plan_render import render_markdown, render_text
from compiler.deploy.publish import make_plan, publish
from compiler.errors import UsageError

pytestmark = pytest.mark.emulator
ROLE = "arn:aws:iam::123456789012:role/other-team"


def build(sandbox: Sandbox, folder: str, machines: tuple[str, ...], pipelines: tuple[str, ...]) -> Path:
    return sandbox.write_build(
        folder,
        items=[job_item("alpha", "fg_c_builder")],
        routes=[route("acme", "hq", "alpha")],
        machines={sandbox.name(m): state_machine(m) for m in machines},
        pipelines={sandbox.name(p): pipeline(p) for p in pipelines},
    )


def foreign_resources(sandbox: Sandbox) -> dict[str, str]:
    """Look-alikes ndrc does not own: prefixed but untagged, tagged for another environment, tagged but not
    prefixed."""
    aws, _ = sandbox.aws()
    sfn, sagemaker = aws.client("stepfunctions"), aws.client("sagemaker")
    untagged = sfn.create_state_machine(
        name=sandbox.name("theirs"), roleArn=ROLE, definition=json.dumps(state_machine("theirs"))
    )["stateMachineArn"]
    other_env = sandbox.name("other-env")
    tags = [{"Key": "managed-by", "Value": "ndrc"}, {"Key": "ndrc-environment", "Value": "dev"}]
    sagemaker.create_pipeline(
        PipelineName=other_env, RoleArn=ROLE, PipelineDefinition=json.dumps(pipeline("x")), Tags=tags
    )
    unprefixed = f"x{sandbox.uid}-not-ours"
    sfn.create_state_machine(
        name=unprefixed,
        roleArn=ROLE,
        definition=json.dumps(state_machine("x")),
        tags=[{"key": "managed-by", "value": "ndrc"}],
    )
    return {"untagged": untagged, "other_env": other_env, "unprefixed": unprefixed}


def machine_names(sandbox: Sandbox) -> set[str]:
    aws, _ = sandbox.aws()
    pages = aws.client("stepfunctions").get_paginator("list_state_machines").paginate()
    return {m["name"] for page in pages for m in page["stateMachines"] if sandbox.uid in m["name"]}


def pipeline_names(sandbox: Sandbox) -> set[str]:
    aws, _ = sandbox.aws()
    reply = aws.client("sagemaker").list_pipelines(PipelineNamePrefix=f"t{sandbox.uid}-", MaxResults=100)
    return {p["PipelineName"] for p in reply["PipelineSummaries"]}


def test_dropped_state_machines_and_pipelines_are_deleted_only_with_prune(provisioned: Sandbox) -> None:
    aws, log = provisioned.aws()
    assert publish(
        provisioned.workspace,
        "local",
        aws=aws,
        build_dir=build(provisioned, "b1", ("live", "backfill"), ("feature", "training")),
    ).ok
    foreign = foreign_resources(provisioned)
    smaller = build(provisioned, "b2", ("live",), ("feature",))

    plan = make_plan(provisioned.workspace, "local", build_dir=smaller, aws=aws)
    deletes = sorted((c.kind, c.target) for c in plan.changes if c.action == "delete")
    assert deletes == [
        ("sagemaker_pipeline", provisioned.name("training")),
        ("state_machine", provisioned.name("backfill")),
    ]
    assert plan.deleted_kinds == [] and plan.count("create") == plan.count("update") == 0
    text = render_text(plan)
    assert (
        f"WARNING: this plan deletes 1 state_machine artifact(s) ndrc created that the build no longer has: "
        f"{provisioned.name('backfill')}; publish needs --prune" in text
    )
    assert f"- delete {provisioned.name('training')} (needs --prune)" in text
    assert "❌ **WARNING: this plan deletes 1 sagemaker\\_pipeline" in render_markdown(plan)

    kept = publish(provisioned.workspace, "local", build_dir=smaller, aws=aws)
    assert kept.ok and kept.count("skipped") == 2 and provisioned.name("backfill") in machine_names(provisioned)
    log.reset()
    pruned = publish(provisioned.workspace, "local", build_dir=smaller, aws=aws, prune=True)
    assert pruned.ok and pruned.count("applied") == 2
    assert log.count("stepfunctions.DeleteStateMachine") == 1 and log.count("sagemaker.DeletePipeline") == 1
    assert machine_names(provisioned) == {provisioned.name("live"), provisioned.name("theirs"), foreign["unprefixed"]}
    assert pipeline_names(provisioned) == {provisioned.name("feature"), foreign["other_env"]}
    assert not make_plan(provisioned.workspace, "local", build_dir=smaller, aws=aws).has_changes


def test_deleting_every_state_machine_needs_delete_kind(provisioned: Sandbox) -> None:
    aws, log = provisioned.aws()
    assert publish(provisioned.workspace, "local", aws=aws, build_dir=build(provisioned, "b1", ("live",), ())).ok
    none_left = build(provisioned, "b2", (), ())
    plan = make_plan(provisioned.workspace, "local", build_dir=none_left, aws=aws)
    assert plan.deleted_kinds == ["state_machine"]
    assert "EVERY one deployed; publish needs --prune --delete-kind state_machine" in render_text(plan)
    log.reset()
    with pytest.raises(UsageError, match="pass --delete-kind state_machine; nothing was written"):
        publish(provisioned.workspace, "local", build_dir=none_left, aws=aws, prune=True)
    assert log.writes() == 0
    done = publish(
        provisioned.workspace,
        "local",
        build_dir=none_left,
        aws=aws,
        prune=True,
        delete_kinds=frozenset({"state_machine"}),
    )
    assert done.ok and done.count("applied") == 1 and machine_names(provisioned) == set()


def test_a_state_machine_changed_after_the_plan_is_not_deleted(provisioned: Sandbox) -> None:
    aws, _ = provisioned.aws()
    assert publish(provisioned.workspace, "local", aws=aws, build_dir=build(provisioned, "b1", ("a", "b"), ())).ok
    smaller = build(provisioned, "b2", ("a",), ())

    def confirm(_plan: object) -> bool:  # someone updates the machine between the plan and the delete
        arn = f"arn:aws:states:us-east-1:123456789012:stateMachine:{provisioned.name('b')}"
        aws.client("stepfunctions").update_state_machine(
            stateMachineArn=arn, definition=json.dumps(state_machine("edited"))
        )
        return True

    result = publish(provisioned.workspace, "local", build_dir=smaller, aws=aws, prune=True, confirm=confirm)
    (outcome,) = result.outcomes
    assert outcome.status == "conflict" and "changed since plan" in outcome.message
    assert provisioned.name("b") in machine_names(provisioned)


def test_a_saved_plan_prunes_through_the_cli(provisioned: Sandbox, tmp_path: Path) -> None:
    runner = CliRunner()
    first = build(provisioned, "b1", ("live", "old"), ("feature",))
    workspace = ["--workspace", str(provisioned.root)]
    assert runner.invoke(cli, ["publish", "--build", str(first), "--yes", *workspace]).exit_code == 0
    smaller = build(provisioned, "b2", ("live",), ("feature",))
    saved = tmp_path / "plan.json"
    result = runner.invoke(cli, ["plan", "--build", str(smaller), "--out", str(saved), *workspace])
    assert result.exit_code == 1 and f"- delete {provisioned.name('old')} (needs --prune)" in result.output
    result = runner.invoke(
        cli, ["publish", "--plan", str(saved), "--build", str(smaller), "--prune", "--yes", *workspace]
    )
    assert result.exit_code == 0, result.output
    assert f"applied       delete state_machine {provisioned.name('old')}" in result.output
    assert machine_names(provisioned) == {provisioned.name("live")}
