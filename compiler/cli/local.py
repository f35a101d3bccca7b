"""`ndrc local up|down|status|trigger|clock|poll`: the embedded emulator of the `local` environment, in the
background; what ran on it; the compiled schedules fired on demand or over a simulated time range; the entry
pipe applied."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from compiler.cli.exit_codes import ExitCode, exit_with, handle_errors
from compiler.cli.options import env_option, open_environment, workspace_option
from compiler.deploy.aws import Aws
from compiler.errors import UsageError
from compiler.local import daemon, demo_state, entry_poller, model_server, scheduler
from compiler.local.executions import Run, recent_runs, scheduled_time
from compiler.local.scheduler import Fired, Schedule
from compiler.orchestration.names import Orchestration

if TYPE_CHECKING:
    from compiler.load.workspace import Workspace
    from compiler.model import EnvironmentConfig


@click.group("local")
def local_group() -> None:
    """Run the local AWS emulator (moto server on 127.0.0.1; state is in memory)."""


@local_group.command("up")
@env_option
@workspace_option
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=None,
    help="Listen on this port instead of the environment's (e.g. when another checkout's emulator holds it); "
    "every command of this workspace then uses it.",
)
@click.option(
    "--model-port",
    type=click.IntRange(1, 65535),
    default=model_server.DEFAULT_PORT,
    show_default=True,
    help="Port of the model server (where `ndrc run` sends invoke_endpoint).",
)
@handle_errors
def up_command(env_name: str | None, workspace_dir: Path | None, port: int | None, model_port: int) -> None:
    """Start the emulator in the background (no-op when it already runs), then the model server of the
    environment's inference endpoint when a model for it exists."""
    workspace, environment = open_environment(workspace_dir, env_name)
    started = daemon.up(workspace, environment, port=port)
    click.echo(started.describe())
    emulator = daemon.with_endpoint(environment, started.endpoint)
    served = model_server.serve_deployed_model(workspace, emulator, model_port)
    click.echo(served.describe())


@local_group.command("down")
@env_option
@workspace_option
@handle_errors
def down_command(env_name: str | None, workspace_dir: Path | None) -> None:
    """Stop the emulator and the model server this workspace started, and the environment `ndrc demo` left
    running from this workspace (its own emulator, warm workers and model server); their tables and state
    machines are gone afterwards."""
    workspace, environment = open_environment(workspace_dir, env_name)
    click.echo(daemon.down(workspace, environment).describe())
    click.echo(model_server.down(workspace).describe())
    demo = demo_state.find(workspace.root)
    if demo is not None:
        click.echo(f"{demo.label}:")
        for line in demo_state.stop(demo):
            click.echo(f"  {line}")
    demo_state.forget(workspace.root)


@local_group.command("status")
@env_option
@workspace_option
@click.option(
    "--limit",
    type=click.IntRange(1, 1000),
    default=10,
    show_default=True,
    help="Executions listed per state machine and per pipeline.",
)
@click.option("--steps/--no-steps", default=True, show_default=True, help="List each pipeline execution's steps.")
@handle_errors
def status_command(env_name: str | None, workspace_dir: Path | None, limit: int, steps: bool) -> None:
    """Say whether the emulator runs and list its recent state machine and pipeline executions, then the same
    for the environment `ndrc demo` left running from this workspace; exit 0 when one of them answers, 1 when
    every one is stopped."""
    workspace, environment = open_environment(workspace_dir, env_name)
    status = daemon.status(workspace, environment)
    click.echo(status.describe())
    answered = status.state in ("running", "external")
    if answered:
        aws = Aws(daemon.with_endpoint(environment, status.endpoint))
        for line in render_runs(recent_runs(aws, Orchestration(environment), limit, steps)):
            click.echo(line)
    demo = demo_state.find(workspace.root)
    if demo is not None:
        emulator, served = demo_state.status(demo)
        click.echo(f"{demo.label}:")
        click.echo(f"  {emulator.describe()}")
        click.echo(f"  {served.describe()}")
        if emulator.state == "running":
            answered = True
            aws = Aws(daemon.with_endpoint(demo.environment, emulator.endpoint))
            for line in render_runs(recent_runs(aws, Orchestration(demo.environment), limit, steps)):
                click.echo(f"  {line}")
            click.echo("  `ndrc local down` stops the demo environment")
    if not answered:
        exit_with(ExitCode.FINDINGS)


def _schedules(workspace: Workspace, environment: EnvironmentConfig, aws: Aws) -> tuple[list[Schedule], str]:
    """The published schedules (the emulator's), else the build's (compiled now when out of date)."""
    orchestration = Orchestration(environment)
    published = scheduler.published_schedules(aws, orchestration)
    if published:
        return published, "published"
    from compiler.compilation.compile import compile_workspace  # only when nothing is published

    build = compile_workspace(workspace, environment.name).out_dir
    return scheduler.built_schedules(build, orchestration), f"compiled ({build})"


def _render(fired: Fired) -> str:
    when = scheduler.iso(fired.scheduled_time)
    if fired.error:
        return f"  failed  {fired.schedule} at {when}: {fired.error}"
    return f"  fired   {fired.schedule} at {when} -> {fired.started}"


@local_group.command("trigger")
@click.argument("flow")
@click.option(
    "--project",
    "project",
    default=None,
    help="The project whose schedule to fire (not needed when FLOW is a schedule's name).",
)
@click.option("--version", "version", default="", help="Its FeatureSpecVersion, when it has several schedules.")
@click.option(
    "--at",
    "--reference-ts",
    "at",
    default="",
    help="The scheduled time (ISO-8601, UTC unless an offset is given; default: now): "
    "<aws.scheduler.scheduled-time>, so the pipeline's ReferenceTsIso and the request token.",
)
@env_option
@workspace_option
@handle_errors
def trigger_command(
    flow: str, project: str | None, version: str, at: str, env_name: str | None, workspace_dir: Path | None
) -> None:
    """Fire a compiled schedule now, as EventBridge Scheduler would: its target (StartPipelineExecution of a
    schedule-started pipeline) with its Input, context attributes resolved. FLOW is fg-b-baseline, if-training,
    machine-inventory-unload (with --project) or a schedule's name."""
    workspace, environment = open_environment(workspace_dir, env_name, start_emulator=True)
    aws = Aws(environment)
    schedules, source = _schedules(workspace, environment, aws)
    schedule = scheduler.select(schedules, Orchestration(environment), flow, project, version)
    fired = scheduler.fire(aws, schedule, scheduled_time(at))
    click.echo(f"{source} schedule {schedule.name} ({schedule.expression} {schedule.timezone})")
    click.echo(_render(fired))
    if fired.error:
        exit_with(ExitCode.FINDINGS)
    click.echo("  follow it with `ndrc local status`")


@local_group.command("clock")
@click.option("--from", "start", required=True, help="Start of the simulated range (ISO-8601, inclusive).")
@click.option("--to", "end", required=True, help="End of the simulated range (ISO-8601, exclusive).")
@click.option("--dry-run", is_flag=True, help="List the due occurrences without firing them.")
@click.option(
    "--max",
    "most",
    type=click.IntRange(1),
    default=500,
    show_default=True,
    help="Refuse to fire more occurrences than this (a long range starts a pipeline per occurrence).",
)
@env_option
@workspace_option
@handle_errors
def clock_command(
    start: str, end: str, dry_run: bool, most: int, env_name: str | None, workspace_dir: Path | None
) -> None:
    """Fire every compiled schedule occurrence due in [--from, --to), in time order, as EventBridge Scheduler
    would have over that range (cron evaluated in each schedule's time zone; disabled schedules skipped). A
    rerun of the same range starts nothing new: each occurrence's request token is its scheduled time's."""
    workspace, environment = open_environment(workspace_dir, env_name, start_emulator=True)
    aws = Aws(environment)
    schedules, source = _schedules(workspace, environment, aws)
    begin, finish = scheduled_time(start), scheduled_time(end)
    occurrences = scheduler.due(schedules, begin, finish)
    click.echo(
        f"{len(occurrences)} occurrence(s) of {len(schedules)} {source} schedule(s) due in "
        f"[{scheduler.iso(begin)}, {scheduler.iso(finish)})"
    )
    if len(occurrences) > most and not dry_run:
        raise UsageError(
            f"{len(occurrences)} occurrences are due, more than --max {most}: narrow the range or raise --max"
        )
    if dry_run:
        for moment, schedule in occurrences:
            click.echo(f"  due     {schedule.name} at {scheduler.iso(moment)}")
        return
    fired = [scheduler.fire(aws, schedule, moment) for moment, schedule in occurrences]
    for one in fired:
        click.echo(_render(one))
    if any(one.error for one in fired):
        exit_with(ExitCode.FINDINGS)


@local_group.command("poll")
@click.option(
    "--wait",
    "wait_seconds",
    type=click.IntRange(0, 20),
    default=0,
    show_default=True,
    help="Long-poll this many seconds when the queue is empty (SQS WaitTimeSeconds).",
)
@env_option
@workspace_option
@handle_errors
def poll_command(wait_seconds: int, env_name: str | None, workspace_dir: Path | None) -> None:
    """Apply the published entry pipe once (the emulator stores pipes but runs none): receive the live-entry
    queue's messages and start the live state machine with each batch of SQS records, as EventBridge Pipes does."""
    _, environment = open_environment(workspace_dir, env_name, start_emulator=True)
    aws = Aws(environment)
    pipe = entry_poller.published_pipe(aws, Orchestration(environment))
    deliveries = entry_poller.poll_once(aws, pipe, wait_seconds)
    for delivery in deliveries:
        click.echo(f"started {delivery.execution_arn}  ({len(delivery.message_ids)} message(s))")
    click.echo(f"{len(deliveries)} execution(s) started by {pipe.get('Name', 'the entry pipe')}")


def _clock(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if moment else "-"


def _duration(start: datetime | None, end: datetime | None) -> str:
    return f"{(end - start).total_seconds():.1f} s" if start and end else "running"


def render_runs(runs: list[Run]) -> list[str]:
    if not runs:
        return ["no executions yet"]
    lines = ["executions (newest first):"]
    for run in runs:
        kind = "state machine" if run.kind == "state_machine" else "pipeline"
        lines.append(
            f"  {run.status:<10} {kind:<13} {run.resource}  {run.name}  started {_clock(run.start)}  "
            f"{_duration(run.start, run.end)}"
        )
        if run.failure_reason:
            lines.append(f"      reason: {run.failure_reason}")
        for step in run.steps:
            lines.append(
                f"      {step.status:<10} {step.name:<24} {_duration(step.start, step.end)}"
                + (f"  {step.failure_reason}" if step.failure_reason else "")
            )
    return lines


COMMANDS = [local_group]
