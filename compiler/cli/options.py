"""Options shared by several commands, defined once and applied as decorators."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from compiler.load.workspace import Workspace
    from compiler.model import EnvironmentConfig

# The workspace loader and the emulator daemon (boto3) are imported by the functions that use them: every
# command imports these options, and `ndrc compile` with nothing to do needs neither.

workspace_option = click.option(
    "--workspace",
    "workspace_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Workspace folder (holding ndrc.yaml). Default: the current folder or its nearest parent.",
)
env_option = click.option(
    "--env",
    "env_name",
    default=None,
    metavar="ENV",
    help="Environment of ndrc.yaml (default: $NDRC_ENV, else the config's default_environment, else local).",
)


def format_option(choices: Iterable[str], help: str, default: str = "text") -> Callable[[Any], Any]:
    """`--format` (parameter `output_format`) choosing among `choices`, shown sorted."""
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(sorted(choices)),
        default=default,
        show_default=True,
        help=help,
    )


def out_file_option(help: str) -> Callable[[Any], Any]:
    """`--out FILE` (parameter `out_file`, default none)."""
    return click.option("--out", "out_file", type=click.Path(dir_okay=False, path_type=Path), default=None, help=help)


def open_environment(
    workspace_dir: Path | None, env_name: str | None, *, start_emulator: bool = False
) -> tuple[Workspace, EnvironmentConfig]:
    """The workspace and its selected environment; with `start_emulator`, the local emulator runs afterwards when
    the environment points at it (the commands that talk to AWS decide this, not the library)."""
    from compiler.validation.workspace_config import load_workspace

    workspace = load_workspace(workspace_dir)
    environment = workspace.environment(env_name)
    if start_emulator:
        environment = local_endpoint(workspace, environment)
    return workspace, environment


def local_endpoint(workspace: Workspace, environment: EnvironmentConfig) -> EnvironmentConfig:
    """Start this workspace's local emulator when the environment points at one; the environment then names the
    port it really listens on (`ndrc local up --port N`)."""
    from compiler.local.daemon import ensure_running, with_endpoint

    running = ensure_running(workspace, environment)
    return with_endpoint(environment, running.endpoint) if running is not None else environment
