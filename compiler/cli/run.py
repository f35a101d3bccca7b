"""`ndrc run` and `ndrc gen-traffic`: runtime jobs and synthetic Palo Alto traffic, locally."""

from __future__ import annotations

from pathlib import Path

import click

from compiler.cli.options import env_option, fail, workspace_option
from compiler.errors import NdrcError
from compiler.local import ensure_running, with_endpoint
from compiler.runjob import job_environment, run_module, storage_root
from compiler.traffic_target import check_traffic_target
from compiler.workspace import load_workspace

PASS_THROUGH = {"ignore_unknown_options": True}


@click.command("run", context_settings=PASS_THROUGH)
@click.argument("job_name")
@click.option("--project", "project_name", required=True, help="Project whose spec the job loads.")
@click.option("--version", "feature_spec_version", default=None, help="feature_spec_version (default: unversioned).")
@env_option
@workspace_option
@click.argument("runtime_args", nargs=-1, type=click.UNPROCESSED)
def run_command(
    job_name: str,
    project_name: str,
    feature_spec_version: str | None,
    env_name: str | None,
    workspace_dir: Path | None,
    runtime_args: tuple[str, ...],
) -> None:
    """Run a runtime job locally on Spark local[*] (for `local`, against the emulator and the local
    storage root). Further arguments go to `python -m runtime`, e.g. --mini-batch-id, --batch-end-ts-iso."""
    try:
        workspace = load_workspace(workspace_dir)
        environment = workspace.environment(env_name)
        running = ensure_running(workspace, environment)
        if running is not None:
            environment = with_endpoint(environment, running.endpoint)
        arguments = [job_name, "--project-name", project_name]
        if feature_spec_version:
            arguments += ["--feature-spec-version", feature_spec_version]
        arguments += list(runtime_args)
        code = run_module("runtime", arguments, job_environment(workspace, environment), workspace.root)
    except NdrcError as problem:
        raise fail(problem) from None
    raise click.exceptions.Exit(code)


@click.command("gen-traffic", context_settings=PASS_THROUGH)
@env_option
@workspace_option
@click.option("--allow-remote", is_flag=True,
              help="Allow writing into the real ingestion bucket of an environment without a local storage root "
                   "(after the same account check as publish).")
@click.argument("generator_args", nargs=-1, type=click.UNPROCESSED)
def gen_traffic_command(env_name: str | None, workspace_dir: Path | None, allow_remote: bool,
                        generator_args: tuple[str, ...]) -> None:
    """Write synthetic Palo Alto traffic batches into the environment's ingestion bucket (for `local`, the
    local storage root). Options go to `python -m runtime.traffic` (--batches, --rows-per-batch, --seed, ...)."""
    try:
        workspace = load_workspace(workspace_dir)
        environment = workspace.environment(env_name)
        account = check_traffic_target(environment, allow_remote=allow_remote)
        if account is not None:
            click.echo(f"writing into s3://{environment.get('buckets.ingestion')} of environment "
                       f"{environment.name} (account {account})", err=True)
        arguments = [f"s3://{environment.get('buckets.ingestion')}"]
        root = storage_root(workspace, environment)
        if root is not None:
            arguments += ["--storage-root", str(root)]
        arguments += list(generator_args)
        code = run_module("runtime.traffic", arguments, job_environment(workspace, environment), workspace.root)
    except NdrcError as problem:
        raise fail(problem) from None
    raise click.exceptions.Exit(code)


COMMANDS = [run_command, gen_traffic_command]
