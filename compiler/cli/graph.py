"""`ndrc graph`: the state machines and pipelines as Mermaid diagrams (Markdown or bare Mermaid)."""

from __future__ import annotations

from pathlib import Path

import click

from compiler.cli.exit_codes import handle_errors
from compiler.cli.options import env_option, format_option, out_file_option, workspace_option
from compiler.errors import UsageError
from compiler.model import CompiledWorkspace
from compiler.orchestration.graph import diagram, markdown
from compiler.targets import orchestration_artifacts
from compiler.validation.workspace_config import load_workspace


@click.command("graph")
@click.argument("names", nargs=-1, metavar="[NAME ...]")
@env_option
@workspace_option
@format_option(
    ["markdown", "mermaid"],
    "markdown: a section per diagram in ```mermaid fences; mermaid: the bare diagram (one NAME).",
    default="markdown",
)
@out_file_option("Write to this file instead of standard output.")
@handle_errors
def graph_command(
    names: tuple[str, ...], env_name: str | None, workspace_dir: Path | None, output_format: str, out_file: Path | None
) -> None:
    """Draw the compiled state machines and SageMaker pipelines (all, or those NAMEd) as Mermaid diagrams."""
    workspace = load_workspace(workspace_dir)
    artifacts = orchestration_artifacts(CompiledWorkspace(workspace.environment(env_name)))
    known = [a.name for a in artifacts]
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise UsageError(f"unknown name(s) {', '.join(unknown)}; known: {', '.join(known)}")
    chosen = [a for a in artifacts if not names or a.name in names]
    if output_format == "mermaid" and len(chosen) != 1:
        raise UsageError("--format mermaid draws one diagram: name one state machine or pipeline")
    text = diagram(chosen[0]) if output_format == "mermaid" else markdown(chosen)
    if out_file is None:
        click.echo(text, nl=False)
    else:
        try:
            out_file.write_text(text, encoding="utf-8")
        except OSError as problem:
            raise UsageError(f"cannot write {out_file}: {problem.strerror or problem}") from None
        click.echo(f"wrote {len(chosen)} diagram(s) to {out_file}")


COMMANDS = [graph_command]
