"""A plan that would delete every item of a project says so loudly, and publish applies it only when that
project is named with --delete-project."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from publish_helpers import Sandbox, job_item, route

from compiler.cli import cli
from compiler.deploy.plan_render import render_markdown, render_text
from compiler.deploy.publish import make_plan, publish
from compiler.errors import UsageError

pytestmark = pytest.mark.emulator


def _deployed_two_projects(sandbox: Sandbox) -> None:
    both = sandbox.write_build(
        "both",
        items=[job_item("alpha", "delta_builder"), job_item("beta", "delta_builder"), job_item("beta", "fg_c_builder")],
        routes=[route("acme", "a", "alpha"), route("acme", "b", "beta")],
    )
    assert publish(sandbox.workspace, "local", build_dir=both, aws=sandbox.aws()[0]).ok
    (sandbox.root / "specs/beta").mkdir(parents=True)  # the project's folder is still there, its specs are gone


def _alpha_only(sandbox: Sandbox):  # type: ignore[no-untyped-def]
    return sandbox.write_build(
        "alpha", items=[job_item("alpha", "delta_builder")], routes=[route("acme", "a", "alpha")]
    )


def test_the_plan_names_a_project_it_would_wipe_out(provisioned: Sandbox) -> None:
    _deployed_two_projects(provisioned)
    plan = make_plan(provisioned.workspace, "local", build_dir=_alpha_only(provisioned), aws=provisioned.aws()[0])
    assert plan.count("delete") == 3 and plan.deleted_projects == ["beta"]
    assert "deletes EVERY item of project beta" in render_text(plan)
    assert "deletes EVERY item of project beta" in render_markdown(plan)
    partial = provisioned.write_build(
        "partial",
        items=[job_item("alpha", "delta_builder"), job_item("beta", "delta_builder")],
        routes=[route("acme", "a", "alpha"), route("acme", "b", "beta")],
    )
    assert make_plan(provisioned.workspace, "local", build_dir=partial, aws=provisioned.aws()[0]).deleted_projects == []


def test_prune_refuses_to_wipe_a_project_unless_it_is_named(provisioned: Sandbox) -> None:
    _deployed_two_projects(provisioned)
    build = _alpha_only(provisioned)
    aws, log = provisioned.aws()
    with pytest.raises(UsageError, match="--delete-project beta"):
        publish(provisioned.workspace, "local", build_dir=build, aws=aws, prune=True)
    assert log.writes() == 0
    assert len(provisioned.items(provisioned.env.parameters_table)) == 3
    result = publish(
        provisioned.workspace, "local", build_dir=build, aws=aws, prune=True, delete_projects=frozenset({"beta"})
    )
    assert result.ok and result.count("applied") == 3
    assert set(provisioned.items(provisioned.env.parameters_table)) == {"alpha / delta_builder#v1"}


def test_cli_prune_yes_exits_2_and_writes_nothing(provisioned: Sandbox) -> None:
    _deployed_two_projects(provisioned)
    build = _alpha_only(provisioned)
    runner = CliRunner()
    publish = ["publish", "--workspace", str(provisioned.root), "--env", "local", "--build", str(build), "--prune"]
    result = runner.invoke(cli, [*publish, "--yes", "--no-color"])
    assert result.exit_code == 2, result.output
    assert "--delete-project beta" in result.output and "nothing was written" in result.output
    assert len(provisioned.items(provisioned.env.parameters_table)) == 3
    named = runner.invoke(cli, [*publish, "--yes", "--delete-project", "beta"])
    assert named.exit_code == 0, named.output
