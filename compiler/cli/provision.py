"""`ndrc provision`: create the parameters, routing and lock tables if missing; optionally seed routing."""

from __future__ import annotations

from pathlib import Path

import click

from compiler.cli.options import env_option, fail, workspace_option
from compiler.cli.plan import invalid_workspace
from compiler.cli.publish import report
from compiler.errors import NdrcError, WorkspaceInvalid
from compiler.provision import provision
from compiler.workspace import load_workspace


@click.command("provision")
@env_option
@workspace_option
@click.option("--seed-routing", is_flag=True, help="Also write the routing items of the compiled specs.")
def provision_command(env_name: str | None, workspace_dir: Path | None, seed_routing: bool) -> None:
    """Create the DynamoDB tables (and the emulator's artifacts bucket) if missing. Idempotent."""
    try:
        result = provision(load_workspace(workspace_dir), env_name, seed_routing=seed_routing)
    except WorkspaceInvalid as invalid:
        raise invalid_workspace(invalid) from None
    except NdrcError as problem:
        raise fail(problem) from None
    for resource, what in result.actions:
        click.echo(f"{what:<10} {resource}")
    if not result.changed:
        click.echo(f"nothing to do: environment {result.environment} is already provisioned")
    if result.seeded is not None:
        report(result.seeded, action="seed routing")
        if not result.seeded.ok:
            raise click.exceptions.Exit(1)


COMMANDS = [provision_command]
