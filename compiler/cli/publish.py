"""`ndrc publish`: apply the plan (or a saved plan) with conditional writes; report every applied change."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from compiler.cli.exit_codes import ExitCode, exit_with, handle_errors
from compiler.cli.options import env_option, local_endpoint, open_environment, workspace_option
from compiler.cli.plan import build_option, color_option
from compiler.compilation.compile import compile_workspace
from compiler.deploy.aws import Aws
from compiler.deploy.plan import Plan, load_plan
from compiler.deploy.plan_render import render_text, summary
from compiler.deploy.progress import ProgressBar
from compiler.deploy.publish import PublishResult, publish
from compiler.errors import NdrcError, UsageError


def report(result: PublishResult, action: str = "publish") -> None:
    for outcome in result.outcomes:
        change = outcome.change
        name = change.target if change.label == change.target else f"{change.target} {change.label}"
        line = f"{outcome.status:<13} {change.action:<6} {change.kind} {name}"
        click.echo(line + (f": {outcome.message}" if outcome.message else ""), err=not outcome.ok)
    for change in result.already:
        name = change.target if change.label == change.target else f"{change.target} {change.label}"
        click.echo(f"{'already':<13} {change.action:<6} {change.kind} {name}")
    counts = ", ".join(
        f"{result.count(s)} {s}"
        for s in ("applied", "already", "conflict", "failed", "not attempted", "skipped")
        if result.count(s)
    )
    calls = sum(result.calls.values())
    click.echo(f"{action} {'done' if result.ok else 'incomplete'}: {counts or 'nothing to do'} ({calls} API calls)")


@click.command("publish")
@env_option
@workspace_option
@click.option("--dry-run", is_flag=True, help="Print the plan and write nothing.")
@click.option(
    "--yes",
    "-y",
    "assume_yes",
    is_flag=True,
    help="Do not ask for confirmation (required without a terminal).",
)
@click.option("--prune", is_flag=True, help="Also delete deployed items that are no longer in the specs.")
@click.option(
    "--plan",
    "plan_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="Apply exactly this saved plan (`ndrc plan --out`); refused if the deployed state moved since.",
)
@click.option(
    "--delete-project",
    "delete_projects",
    multiple=True,
    metavar="PROJECT",
    help="With --prune: allow deleting every item of this project (repeatable). Without it, a plan "
    "that wipes out a project is refused.",
)
@click.option(
    "--delete-kind",
    "delete_kinds",
    multiple=True,
    metavar="KIND",
    help="With --prune: allow deleting every deployed artifact of this kind (state_machine, "
    "sagemaker_pipeline, ...) when the build has none left (repeatable).",
)
@click.option(
    "--rollback",
    "rollback",
    metavar="MANIFEST_SHA256",
    default=None,
    help="Re-apply the build an earlier publish recorded (its manifest sha256 or a unique prefix of at "
    "least 8 hex digits, from `ndrc history`), through the same plan, confirmation and prune rules.",
)
@build_option
@color_option
@handle_errors
def publish_command(
    env_name: str | None,
    workspace_dir: Path | None,
    dry_run: bool,
    assume_yes: bool,
    prune: bool,
    plan_file: Path | None,
    delete_projects: tuple[str, ...],
    delete_kinds: tuple[str, ...],
    rollback: str | None,
    build_dir: Path | None,
    color: bool | None,
) -> None:
    """Apply the plan: conditional per-item writes, state machines, pipelines, the runtime archive."""
    if not (assume_yes or dry_run or sys.stdin.isatty()):
        raise UsageError("not a terminal, so nobody can confirm: pass --yes (or --dry-run)")
    use_color = sys.stdout.isatty() if color is None else color

    def show(plan: Plan) -> None:
        if plan_file is None or dry_run:
            click.echo(render_text(plan, use_color), nl=False)
        else:
            click.echo(f"saved plan {plan_file} (made {plan.created_at}): {summary(plan)}")

    def confirm(plan: Plan) -> bool:
        return assume_yes or click.confirm(f"{summary(plan)} Publish to {plan.environment}?", default=False)

    if rollback is not None and (plan_file is not None or build_dir is not None):
        raise UsageError("--rollback applies a recorded build; it cannot be combined with --plan or --build")
    workspace, environment = open_environment(workspace_dir, env_name)
    if plan_file is not None:
        load_plan(plan_file)  # a file that is not a plan is reported first, before anything else is read
    if build_dir is None and rollback is None:  # invalid specs are reported before the emulator starts
        build_dir = compile_workspace(workspace, environment.name).out_dir
    environment = local_endpoint(workspace, environment)
    result = publish(
        workspace,
        environment.name,
        aws=Aws(environment),
        build_dir=build_dir,
        plan_file=plan_file,
        prune=prune,
        dry_run=dry_run,
        show=show,
        confirm=confirm,
        progress=ProgressBar(sys.stderr),
        delete_projects=frozenset(delete_projects),
        rollback=rollback,
        delete_kinds=frozenset(delete_kinds),
    )
    if result.refused:
        for reason in result.refused:
            click.echo(f"  moved: {reason}", err=True)
        raise NdrcError("the deployed state moved since the plan was made; nothing was written. Make a new plan.")
    if result.declined:
        click.echo("not published", err=True)
        exit_with(ExitCode.FINDINGS)
    if dry_run:
        click.echo("dry run: nothing was written")
        return
    report(result)
    if result.record is not None:
        click.echo(
            f"recorded deployment {result.record.manifest_sha256[:12]} in the deployments log "
            f"(`ndrc history --env {environment.name}`)"
        )
    elif result.record_note:
        click.echo(result.record_note, err=True)
    exit_with(ExitCode.OK if result.ok else ExitCode.FINDINGS)


COMMANDS = [publish_command]
