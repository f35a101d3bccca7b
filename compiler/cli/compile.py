"""`ndrc compile`: validate, then write every artifact and the manifest to `<out>/<env>/`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from compiler.cli.exit_codes import ExitCode, exit_with, handle_errors
from compiler.cli.options import env_option, workspace_option
from compiler.cli.quick import unchanged_message
from compiler.compilation.uptodate import current_build

if TYPE_CHECKING:
    from compiler.compilation.check import BuildCheck

# The compiler proper is imported only when the build record cannot show that nothing changed.


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
@click.option(
    "--check",
    is_flag=True,
    help="Write nothing; exit 1 listing every file of <out>/<env>/ that differs from what the specs compile to.",
)
@handle_errors
def compile_command(env_name: str | None, workspace_dir: Path | None, out_dir: Path | None, check: bool) -> None:
    """Compile specs into DynamoDB items, state machines and pipelines. Writes nothing if anything is invalid."""
    if not check:
        current = current_build(workspace_dir, env_name, out_dir)
        if current is not None:
            unchanged(current.out_dir, current.artifacts)
            return
    from compiler.compilation.check import check_build
    from compiler.compilation.compile import compile_workspace
    from compiler.validation.reporters import render_text
    from compiler.validation.workspace_config import load_workspace

    if check:
        report_check(check_build(load_workspace(workspace_dir), env_name, out_dir))
        return
    result = compile_workspace(load_workspace(workspace_dir), env_name, out_dir)
    warnings = [d for d in result.diagnostics if not d.is_error]
    if warnings:
        click.echo(render_text(warnings), nl=False, err=True)
    if result.compiled is None:
        unchanged(result.out_dir, len(result.artifacts))
        return
    click.echo(
        f"compiled {len(result.compiled.items)} job item(s) and {len(result.compiled.routes)} route(s) "
        f"into {len(result.artifacts)} artifact(s): {result.out_dir} (written)"
    )


def unchanged(out_dir: Path, count: int) -> None:
    click.echo(unchanged_message(out_dir, count))


def report_check(outcome: BuildCheck) -> None:
    if outcome.up_to_date:
        click.echo(f"build is up to date: {outcome.out_dir}")
        return
    for stale in outcome.stale:
        click.echo(f"{outcome.out_dir / stale.path}: {stale.problem}", err=True)
    click.echo(
        f"build is out of date: {len(outcome.stale)} file(s) differ from what the specs compile to; "
        "run `ndrc compile` and commit the result",
        err=True,
    )
    exit_with(ExitCode.FINDINGS)


COMMANDS = [compile_command]
