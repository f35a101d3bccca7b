"""`ndrc provision`: create the parameters, routing and lock tables if missing; optionally seed routing."""

from __future__ import annotations

from pathlib import Path

import click

from compiler.cli.exit_codes import ExitCode, exit_with, handle_errors
from compiler.cli.options import env_option, open_environment, workspace_option
from compiler.cli.publish import report
from compiler.deploy.aws import Aws
from compiler.deploy.provision import provision


@click.command("provision")
@env_option
@workspace_option
@click.option("--seed-routing", is_flag=True, help="Also write the routing items of the compiled specs.")
@handle_errors
def provision_command(env_name: str | None, workspace_dir: Path | None, seed_routing: bool) -> None:
    """Create the DynamoDB tables (and the emulator's artifacts bucket) if missing. Idempotent."""
    workspace, environment = open_environment(workspace_dir, env_name, start_emulator=True)
    result = provision(workspace, environment.name, seed_routing=seed_routing, aws=Aws(environment))
    for resource, what in result.actions:
        click.echo(f"{what:<10} {resource}")
    if not result.changed:
        click.echo(f"nothing to do: environment {result.environment} is already provisioned")
    if result.seeded is not None:
        report(result.seeded, action="seed routing")
        if not result.seeded.ok:
            exit_with(ExitCode.FINDINGS)


COMMANDS = [provision_command]
