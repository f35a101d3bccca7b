"""`ndrc validate`: every problem of the workspace, located, in text, json or GitHub annotations."""

from __future__ import annotations

from pathlib import Path

import click

from compiler.cli.exit_codes import ExitCode, exit_with, handle_errors
from compiler.cli.options import env_option, format_option, workspace_option
from compiler.compilation.compile import validate_with_cache
from compiler.diagnostics import Diagnostic
from compiler.errors import UsageError, WorkspaceInvalid
from compiler.load.workspace import Workspace
from compiler.validation.reporters import REPORTER_BY_NAME
from compiler.validation.workspace_config import load_workspace

reporter_option = format_option(REPORTER_BY_NAME, "text for people, json for tools, github for workflow annotations.")


def selected(workspace: Workspace, paths: tuple[Path, ...], explicit_workspace: bool = False) -> list[str]:
    """Workspace-relative prefixes of the PATH arguments (files or folders); with --workspace, relative
    PATHs are relative to that workspace."""
    prefixes = []
    for path in paths:
        if explicit_workspace and not path.is_absolute():
            path = workspace.root / path
        if not path.exists():
            raise UsageError(f"no such file or folder: {path}")
        relative = workspace.relative(path)
        if relative.startswith("/") or relative.startswith(".."):
            raise UsageError(f"{path} is outside the workspace {workspace.root}")
        if relative in ("", "."):
            return []
        prefixes.append(relative if path.is_file() else relative.rstrip("/") + "/")
    return prefixes


def keep(diagnostics: list[Diagnostic], prefixes: list[str]) -> list[Diagnostic]:
    if not prefixes:
        return diagnostics
    return [d for d in diagnostics if any(d.path == p or d.path.startswith(p) for p in prefixes)]


def emit(diagnostics: list[Diagnostic], output_format: str) -> None:
    click.echo(REPORTER_BY_NAME[output_format](diagnostics), nl=False)


@click.command("validate")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@env_option
@workspace_option
@reporter_option
@click.option("--strict", is_flag=True, help="Warnings fail too (exit 1).")
@handle_errors
def validate_command(
    paths: tuple[Path, ...], env_name: str | None, workspace_dir: Path | None, output_format: str, strict: bool
) -> None:
    """Check specs against their schemas and the cross-file rules; report every problem with its location."""
    try:
        workspace = load_workspace(workspace_dir)
        result = validate_with_cache(workspace, env_name)
        diagnostics = keep(result.diagnostics, selected(workspace, paths, workspace_dir is not None))
    except WorkspaceInvalid as invalid:
        emit(invalid.diagnostics, output_format)  # in the chosen format, on stdout: they are the report
        exit_with(ExitCode.FINDINGS)
    emit(diagnostics, output_format)
    failing = any(d.is_error or strict for d in diagnostics)
    exit_with(ExitCode.FINDINGS if failing else ExitCode.OK)


COMMANDS = [validate_command]
