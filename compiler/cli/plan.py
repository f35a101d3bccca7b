"""`ndrc plan`: what publish would create / update / delete, with a semantic diff; exit 1 when anything would."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from compiler.cli.exit_codes import ExitCode, exit_with, handle_errors
from compiler.cli.options import (
    env_option,
    format_option,
    local_endpoint,
    open_environment,
    out_file_option,
    workspace_option,
)
from compiler.compilation.compile import compile_workspace
from compiler.deploy.aws import Aws
from compiler.deploy.base import plan_against_base
from compiler.deploy.plan import save_plan
from compiler.deploy.plan_render import RENDERERS
from compiler.deploy.publish import make_plan
from compiler.errors import UsageError

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


@click.command("plan")
@env_option
@workspace_option
@format_option(RENDERERS, "text for people, json for tools, markdown for a pull-request comment.")
@out_file_option("Also save the plan as JSON, for `ndrc publish --plan FILE`.")
@click.option(
    "--base",
    "base_ref",
    metavar="GIT_REF",
    default=None,
    help="Compare with the workspace at this git ref (branch, tag, commit) instead of the deployed "
    "state: no AWS credentials or emulator needed.",
)
@build_option
@color_option
@handle_errors
def plan_command(
    env_name: str | None,
    workspace_dir: Path | None,
    output_format: str,
    out_file: Path | None,
    base_ref: str | None,
    build_dir: Path | None,
    color: bool | None,
) -> None:
    """Show what publish would change, per artifact, against what is deployed (or against a git ref with
    --base), with what each change affects and why. Exit 1 if anything would change."""
    workspace, environment = open_environment(workspace_dir, env_name)
    if build_dir is None:  # invalid specs are reported before the emulator starts or AWS is called
        build_dir = compile_workspace(workspace, environment.name).out_dir
    if base_ref is not None:
        plan = plan_against_base(workspace, environment.name, base_ref, build_dir)
    else:
        environment = local_endpoint(workspace, environment)
        plan = make_plan(workspace, environment.name, build_dir=build_dir, aws=Aws(environment))
    if out_file is not None:
        try:
            save_plan(plan, out_file)
        except OSError as problem:
            raise UsageError(f"cannot write the plan to {out_file}: {problem.strerror or problem}") from None
    use_color = sys.stdout.isatty() if color is None else color
    click.echo(RENDERERS[output_format](plan, use_color), nl=False)
    if out_file is not None:
        click.echo(f"plan saved to {out_file}", err=True)
    exit_with(ExitCode.FINDINGS if plan.has_changes or plan.unsupported else ExitCode.OK)


COMMANDS = [plan_command]
