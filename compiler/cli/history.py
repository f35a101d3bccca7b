"""`ndrc history`: the deployments an environment's log recorded, newest first."""

from __future__ import annotations

import json
from pathlib import Path

import click

from compiler.cli.exit_codes import handle_errors
from compiler.cli.options import env_option, format_option, local_endpoint, open_environment, workspace_option
from compiler.deploy.aws import Aws
from compiler.deploy.deployments import DeploymentLog, DeploymentRecord
from compiler.deploy.publish import open_deployment


def _line(record: DeploymentRecord) -> str:
    git = record.git or {}
    commit = str(git.get("commit", ""))[:12] + ("+dirty" if git.get("dirty") else "") if git else "no git"
    who = record.who.get("user") or "?"
    counts = ", ".join(f"{n} {status}" for status, n in record.counts.items()) or "nothing applied"
    rollback = f"  rollback to {record.rollback_of[:12]}" if record.rollback_of else ""
    state = "ok" if record.ok else "INCOMPLETE"
    return (
        f"{record.applied_at}  build {record.manifest_sha256[:12]}  plan {record.plan_sha256[:12]}  "
        f"git {commit}  by {who} ({record.who.get('arn', '?')})  {state}: {counts}{rollback}"
    )


@click.command("history")
@env_option
@workspace_option
@format_option(["json", "text"], "text for people, json for tools (the records as stored, without the resource lists).")
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=20,
    show_default=True,
    help="Show at most this many deployments (newest first).",
)
@handle_errors
def history_command(env_name: str | None, workspace_dir: Path | None, output_format: str, limit: int) -> None:
    """List what publish applied to an environment: when, who, which build and plan, from which git commit.

    A listed build can be applied again with `ndrc publish --rollback <build>`."""
    workspace, environment = open_environment(workspace_dir, env_name)
    environment = local_endpoint(workspace, environment)
    target = open_deployment(workspace, environment.name, Aws(environment))
    log = DeploymentLog(target.aws)
    records = log.records(limit)
    if output_format == "json":
        documents = []
        for record in records:
            document = record.to_json()
            document["published"] = len(record.published)
            document["key"] = record.key
            documents.append(document)
        click.echo(
            json.dumps(
                {"environment": environment.name, "log": log.where, "deployments": documents},
                indent=1,
                sort_keys=True,
                ensure_ascii=False,
            )
        )
        return
    if not records:
        click.echo(f"no deployments recorded for {environment.name} in {log.where}")
        return
    click.echo(f"deployments of {environment.name} ({log.where}), newest first:")
    for record in records:
        click.echo("  " + _line(record))


COMMANDS = [history_command]
