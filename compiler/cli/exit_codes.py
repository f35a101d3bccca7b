"""Exit codes, and the one place domain errors become a message on stderr and an exit code."""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import click

from compiler.errors import NdrcError, WorkspaceInvalid

F = TypeVar("F", bound=Callable[..., Any])


class ExitCode(enum.IntEnum):
    OK = 0
    FINDINGS = 1  # findings, differences, failed or refused changes, an invalid workspace, a failed job
    USAGE = 2  # the command line or the environment is wrong; an internal error


def exit_with(code: ExitCode | int) -> NoReturn:
    raise click.exceptions.Exit(int(code))


def fail(error: NdrcError) -> click.exceptions.Exit:
    """Print a domain error on stderr as one line and turn it into the CLI exit code it declares."""
    click.echo(f"ndrc: error: {error}", err=True)
    return click.exceptions.Exit(int(ExitCode(error.exit_code)))


def invalid_workspace(invalid: WorkspaceInvalid) -> click.exceptions.Exit:
    """The located diagnostics on stderr, then the one-line summary."""
    from compiler.validation.reporters import render_text

    click.echo(render_text(invalid.diagnostics), nl=False, err=True)
    return fail(invalid)


def handle_errors(command: F) -> F:
    """Wrap a command's body: any domain error is rendered at this edge instead of escaping as a traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except WorkspaceInvalid as invalid:
            raise invalid_workspace(invalid) from None
        except NdrcError as problem:
            raise fail(problem) from None

    return wrapper  # type: ignore[return-value]
