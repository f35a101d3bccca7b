"""`ndrc compile`: validate, then write every artifact and the manifest to `<out>/<env>/`."""

from __future__ import annotations

from pathlib import Path

import click

from compiler.build import compile_workspace
from compiler.cli.options import env_option, fail, workspace_option
from compiler.errors import NdrcError, WorkspaceInvalid
from compiler.reporters import render_text
from compiler.workspace import load_workspace


@click.command("compile")
@env_option
@workspace_option
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Output root; artifacts go to <out>/<env>/ (default: build/ in the workspace).",
)
def compile_command(env_name: str | None, workspace_dir: Path | None, out_dir: Path | None) -> None:
    """Compile specs into DynamoDB items, state machines and pipelines. Writes nothing if anything is invalid."""
    try:
        workspace = load_workspace(workspace_dir)
        result = compile_workspace(workspace, env_name, out_dir)
    except WorkspaceInvalid as invalid:
        click.echo(render_text(invalid.diagnostics), nl=False, err=True)
        click.echo(f"ndrc: error: {invalid}", err=True)
        raise click.exceptions.Exit(invalid.exit_code) from None
    except NdrcError as problem:
        raise fail(problem) from None
    warnings = [d for d in result.diagnostics if not d.is_error]
    if warnings:
        click.echo(render_text(warnings), nl=False, err=True)
    if result.compiled is None:
        count = len(result.artifacts)
        click.echo(f"nothing changed since the last build: {result.out_dir} ({count} artifact(s), unchanged)")
        return
    click.echo(
        f"compiled {len(result.compiled.items)} job item(s) and {len(result.compiled.routes)} route(s) "
        f"into {len(result.artifacts)} artifact(s): {result.out_dir} (written)"
    )


COMMANDS = [compile_command]
