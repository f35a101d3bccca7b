"""`ndrc local up|down|status`: the embedded emulator of the `local` environment, in the background."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from compiler import local
from compiler.cli.options import env_option, fail, workspace_option
from compiler.errors import NdrcError
from compiler.workspace import load_workspace


def _run(action: str, env_name: str | None, workspace_dir: Path | None, **options: Any) -> local.EmulatorStatus:
    try:
        workspace = load_workspace(workspace_dir)
        environment = workspace.environment(env_name)
        status: local.EmulatorStatus = getattr(local, action)(workspace, environment, **options)
    except NdrcError as problem:
        raise fail(problem) from None
    click.echo(status.describe())
    return status


@click.group("local")
def local_group() -> None:
    """Run the local AWS emulator (moto server on 127.0.0.1; state is in memory)."""


@local_group.command("up")
@env_option
@workspace_option
@click.option("--port", type=click.IntRange(1, 65535), default=None,
              help="Listen on this port instead of the environment's (e.g. when another checkout's emulator holds "
                   "it); every command of this workspace then uses it.")
def up_command(env_name: str | None, workspace_dir: Path | None, port: int | None) -> None:
    """Start the emulator in the background (no-op when it already runs)."""
    _run("up", env_name, workspace_dir, port=port)


@local_group.command("down")
@env_option
@workspace_option
def down_command(env_name: str | None, workspace_dir: Path | None) -> None:
    """Stop the emulator this workspace started; its tables and state machines are gone afterwards."""
    _run("down", env_name, workspace_dir)


@local_group.command("status")
@env_option
@workspace_option
def status_command(env_name: str | None, workspace_dir: Path | None) -> None:
    """Say whether the emulator runs; exit 0 when it answers, 1 when it is stopped."""
    if _run("status", env_name, workspace_dir).state not in ("running", "external"):
        raise click.exceptions.Exit(1)


COMMANDS = [local_group]
