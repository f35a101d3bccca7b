"""`pipeline_entry`: the `ResolveSpecs` step of every compiled pipeline (one BatchGetItem pass)."""

from __future__ import annotations

import argparse
from typing import Any

from runtime.config.ddb import dynamodb_client
from runtime.errors import JobUsageError
from runtime.jobs.job import Job, JobContext
from runtime.jobs.spec_jobs import SPEC_JOBS
from runtime.orchestration.entry import EntryRequest, run_pipeline_entry, split_jobs


def add_arguments(group: argparse._ArgumentGroup) -> None:
    group.add_argument("--jobs", help="comma-separated job names whose specs the pipeline needs")
    group.add_argument(
        "--callback-key", help="key of the Step Functions task token in the lock table (failed when a spec is missing)"
    )


def jobs_argument(value: str | None) -> tuple[str, ...]:
    jobs = split_jobs(value or "")
    if not jobs:
        raise JobUsageError("pipeline_entry needs --jobs a,b,c (the jobs whose specs the pipeline reads)")
    unknown = [job for job in jobs if job not in SPEC_JOBS]
    if unknown:
        raise JobUsageError(
            f"--jobs names unknown job(s) {', '.join(unknown)} (choose from {', '.join(sorted(SPEC_JOBS))})"
        )
    return jobs


def check_arguments(args: argparse.Namespace) -> None:
    args.jobs = jobs_argument(args.jobs)


def run(args: argparse.Namespace, context: JobContext) -> dict[str, Any]:
    from runtime.orchestration.callback import stored_task_token

    token = stored_task_token(args.callback_key)
    request = EntryRequest(args.project_name, args.jobs, args.feature_spec_version, token)
    return run_pipeline_entry(request, table_name=context.table_name, ddb_client=dynamodb_client())


JOB = Job(
    name="pipeline_entry",
    summary="resolve every spec a pipeline needs in one pass; fail fast naming the missing ones",
    run=run,
    add_arguments=add_arguments,
    parse_spec=None,
    check_arguments=check_arguments,
)
