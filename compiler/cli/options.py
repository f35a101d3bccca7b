"""Options shared by several commands, defined once and applied as decorators."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from compiler.errors import NdrcError, WorkspaceInvalid

F = TypeVar("F", bound=Callable[..., Any])

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


def fail(error: NdrcError) -> click.exceptions.Exit:
    """Print a domain error on stderr as one line (after the located diagnostics of an invalid workspace)
    and turn it into the CLI exit code."""
    if isinstance(error, WorkspaceInvalid):
        from compiler.reporters import render_text

        click.echo(render_text(error.diagnostics), nl=False, err=True)
    click.echo(f"ndrc: error: {error}", err=True)
    return click.exceptions.Exit(error.exit_code)
