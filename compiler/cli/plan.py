"""`ndrc plan`: what publish would create / update / delete, with a semantic diff; exit 1 when anything would."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from compiler.cli.options import env_option, fail, workspace_option
from compiler.errors import NdrcError, UsageError, WorkspaceInvalid
from compiler.plan import save_plan
from compiler.plan_render import RENDERERS
from compiler.publish import make_plan
from compiler.reporters import render_text
from compiler.workspace import load_workspace

build_option = click.option(
    "--build",
    "build_dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=None,
    help="Use this already compiled build/<env>/ folder instead of compiling the workspace.",
)
color_option = click.option(
    "--color/--no-color", default=None, help="Colour the text output (default: when stdout is a terminal)."
)


def invalid_workspace(invalid: WorkspaceInvalid) -> click.exceptions.Exit:
    click.echo(render_text(invalid.diagnostics), nl=False, err=True)
    click.echo(f"ndrc: error: {invalid}", err=True)
    return click.exceptions.Exit(invalid.exit_code)


@click.command("plan")
@env_option
@workspace_option
@click.option("--format", "output_format", type=click.Choice(sorted(RENDERERS)), default="text",
              show_default=True, help="text for people, json for tools, markdown for a pull-request comment.")
@click.option("--out", "out_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also save the plan as JSON, for `ndrc publish --plan FILE`.")
@build_option
@color_option
def plan_command(env_name: str | None, workspace_dir: Path | None, output_format: str, out_file: Path | None,
                 build_dir: Path | None, color: bool | None) -> None:
    """Show what publish would change, per artifact, against what is deployed. Exit 1 if anything would."""
    try:
        plan = make_plan(load_workspace(workspace_dir), env_name, build_dir=build_dir)
        if out_file is not None:
            try:
                save_plan(plan, out_file)
            except OSError as problem:
                raise UsageError(f"cannot write the plan to {out_file}: {problem.strerror or problem}") from None
    except WorkspaceInvalid as invalid:
        raise invalid_workspace(invalid) from None
    except NdrcError as problem:
        raise fail(problem) from None
    use_color = sys.stdout.isatty() if color is None else color
    click.echo(RENDERERS[output_format](plan, use_color), nl=False)
    if out_file is not None:
        click.echo(f"plan saved to {out_file}", err=True)
    raise click.exceptions.Exit(1 if plan.has_changes or plan.unsupported else 0)


COMMANDS = [plan_command]
