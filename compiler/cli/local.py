"""`ndrc local up|down|status`: the embedded emulator of the `local` environment, in the background."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from compiler.cli.exit_codes import ExitCode, exit_with, handle_errors
from compiler.cli.options import env_option, open_environment, workspace_option
from compiler.local import daemon, model_server

ACTIONS: dict[str, Callable[..., daemon.EmulatorStatus]] = {
    "up": daemon.up,
    "down": daemon.down,
    "status": daemon.status,
}


def _run(action: str, env_name: str | None, workspace_dir: Path | None, **options: Any) -> daemon.EmulatorStatus:
    workspace, environment = open_environment(workspace_dir, env_name)
    status = ACTIONS[action](workspace, environment, **options)
    click.echo(status.describe())
    return status


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
    """Stop the emulator and the model server this workspace started; its tables and state machines are gone
    afterwards."""
    _run("down", env_name, workspace_dir)
    click.echo(model_server.down(open_environment(workspace_dir, env_name)[0]).describe())


@local_group.command("status")
@env_option
@workspace_option
@handle_errors
def status_command(env_name: str | None, workspace_dir: Path | None) -> None:
    """Say whether the emulator runs; exit 0 when it answers, 1 when it is stopped."""
    if _run("status", env_name, workspace_dir).state not in ("running", "external"):
        exit_with(ExitCode.FINDINGS)


COMMANDS = [local_group]
