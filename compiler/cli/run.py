"""`ndrc run` and `ndrc gen-traffic`: runtime jobs and synthetic Palo Alto traffic, locally."""

from __future__ import annotations

from pathlib import Path

import click

from compiler.cli.exit_codes import exit_with, handle_errors
from compiler.cli.options import env_option, open_environment, workspace_option
from compiler.local.runjob import job_environment, run_module, storage_root
from compiler.local.traffic_target import check_traffic_target
from runtime.jobs.registry import REGISTRY

PASS_THROUGH = {"ignore_unknown_options": True}


def runnable_jobs_epilog() -> str:
    """Every job `ndrc run` can start (the runtime's job registry), one per line with its summary."""
    width = max(len(name) for name in REGISTRY)
    lines = [f"  {name.ljust(width)}  {job.summary}" for name, job in sorted(REGISTRY.items())]
    return "\b\nRunnable jobs (`python -m runtime <job> --help` lists a job's own options):\n" + "\n".join(lines)


def check_job_name(ctx: click.Context, param: click.Parameter, value: str) -> str:
    if value not in REGISTRY:
        raise click.BadParameter(f"unknown job {value!r}; runnable jobs: {', '.join(sorted(REGISTRY))}")
    return value


@click.command("run", context_settings=PASS_THROUGH, epilog=runnable_jobs_epilog())
@click.argument("job_name", callback=check_job_name)
@click.option("--project", "project_name", required=True, help="Project whose spec the job loads.")
@click.option("--version", "feature_spec_version", default=None, help="feature_spec_version (default: unversioned).")
@env_option
@workspace_option
@click.argument("runtime_args", nargs=-1, type=click.UNPROCESSED)
@handle_errors
def run_command(
    job_name: str,
    project_name: str,
    feature_spec_version: str | None,
    env_name: str | None,
    workspace_dir: Path | None,
    runtime_args: tuple[str, ...],
) -> None:
    """Run a runtime job locally on Spark local[*] (for `local`, against the emulator and the local
    storage root). Further arguments go to `python -m runtime`, e.g. --mini-batch-id, --batch-end-ts-iso.
    Exit codes: 0 ok, 1 the job failed, 2 usage error (unknown job, missing or unknown job arguments)."""
    workspace, environment = open_environment(workspace_dir, env_name, start_emulator=True)
    arguments = [job_name, "--project-name", project_name]
    if feature_spec_version:
        arguments += ["--feature-spec-version", feature_spec_version]
    arguments += list(runtime_args)
    exit_with(run_module("runtime", arguments, job_environment(workspace, environment), workspace.root))


@click.command("gen-traffic", context_settings=PASS_THROUGH)
@env_option
@workspace_option
@click.option(
    "--allow-remote",
    is_flag=True,
    help="Allow writing into the real ingestion bucket of an environment without a local storage root "
    "(after the same account check as publish).",
)
@click.argument("generator_args", nargs=-1, type=click.UNPROCESSED)
@handle_errors
def gen_traffic_command(
    env_name: str | None, workspace_dir: Path | None, allow_remote: bool, generator_args: tuple[str, ...]
) -> None:
    """Write synthetic Palo Alto traffic batches into the environment's ingestion bucket (for `local`, the
    local storage root). Options go to `python -m devtools.traffic` (--batches, --rows-per-batch, --seed, ...)."""
    workspace, environment = open_environment(workspace_dir, env_name)
    account = check_traffic_target(environment, allow_remote=allow_remote)
    if account is not None:
        click.echo(
            f"writing into s3://{environment.get('buckets.ingestion')} of environment {environment.name} "
            f"(account {account})",
            err=True,
        )
    arguments = [f"s3://{environment.get('buckets.ingestion')}"]
    root = storage_root(workspace, environment)
    if root is not None:
        arguments += ["--storage-root", str(root)]
    arguments += list(generator_args)
    exit_with(run_module("devtools.traffic", arguments, job_environment(workspace, environment), workspace.root))


COMMANDS = [run_command, gen_traffic_command]
