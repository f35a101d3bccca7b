"""`python -m runtime <job_name> ...`: what compiled pipeline steps call and `ndrc run` wraps.

Exit codes: 0 ok, 1 the job failed (one-line cause logged as JSON on stderr), 2 usage error.
A JSON summary of the run is printed on stdout on success. An empty string given to any option means
"unset" (pipeline parameters default to ""). Jobs the pipelines name but this runtime does not
implement (`PLANNED_JOBS`) are parsed and then fail with exit 1 and a readable cause.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from runtime.errors import BatchKeyError, BatchTimestampError, RuntimeJobError
from runtime.jobs import JOBS, PLANNED_JOBS, SPEC_JOBS, JobContext
from runtime.jsonlog import log
from runtime.orchestration.entry import split_jobs
from runtime.orchestration.window import iso_z, to_utc
from runtime.storage import STORAGE_ROOT_ENV, storage_from_env

SPARK_MASTER_ENV = "NDRC_SPARK_MASTER"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m runtime", description="Run one ndrc runtime job.")
    parser.add_argument("job_name", help=f"one of {', '.join(sorted(JOBS))}")
    parser.add_argument("--project-name", required=True)
    parser.add_argument("--feature-spec-version")
    parser.add_argument("--reference-ts-iso", help="reference time, ISO-8601 (normalised to UTC `Z`)")
    entry = parser.add_argument_group("pipeline_entry")
    entry.add_argument("--jobs", help="comma-separated job names whose specs the pipeline needs")
    batch = parser.add_argument_group("batch (delta_builder, pair_counts_builder)")
    batch.add_argument("--mini-batch-id")
    batch.add_argument("--mini-batch-s3-prefix")
    batch.add_argument("--batch-start-ts-iso")
    batch.add_argument("--batch-end-ts-iso")
    extractor = parser.add_argument_group("historical extractor")
    extractor.add_argument("--start-date", help="first day, YYYY-MM-DD (UTC)")
    extractor.add_argument("--end-date", help="last day, inclusive, YYYY-MM-DD (UTC)")
    extractor.add_argument("--input-s3-prefix", help="override the ingestion prefix of the project")
    extractor.add_argument("--output-s3-prefix", help="where the windows JSON goes")
    extractor.add_argument(
        "--callback-key", help="key of the Step Functions task token in the lock table (reported to on the end)"
    )
    env = parser.add_argument_group("environment")
    env.add_argument("--table-name", help="parameters table (else ML_PROJECTS_PARAMETERS_TABLE_NAME)")
    env.add_argument("--routing-table-name", help="routing table (else ML_PROJECTS_ROUTING_TABLE_NAME)")
    env.add_argument("--storage-root", help=f"local dir standing in for buckets (else {STORAGE_ROOT_ENV})")
    env.add_argument("--spark-master", help=f"e.g. local[*] (else {SPARK_MASTER_ENV}; local[*] with a root)")
    return parser


POSITIONALS = frozenset({"job_name"})


def _unset_empty(args: argparse.Namespace) -> None:
    """An empty string given to any option means unset (pipeline parameters default to "")."""
    for name, value in vars(args).items():
        if name not in POSITIONALS and isinstance(value, str) and not value.strip():
            setattr(args, name, None)


def _usage_problem(args: argparse.Namespace) -> str | None:
    """Checks after parsing; normalises `--reference-ts-iso` and splits `--jobs` in place."""
    if args.job_name not in JOBS and args.job_name not in PLANNED_JOBS:
        return f"unknown job {args.job_name!r} (choose from {', '.join(sorted(JOBS))})"
    if args.project_name is None:
        return "--project-name must not be empty"
    if args.reference_ts_iso is not None:
        try:
            args.reference_ts_iso = iso_z(to_utc(args.reference_ts_iso))
        except BatchTimestampError:
            return f"--reference-ts-iso {args.reference_ts_iso!r} is not ISO-8601 (e.g. 2025-01-15T10:08:00Z)"
    args.jobs = split_jobs(args.jobs or "")
    unknown = [job for job in args.jobs if job not in SPEC_JOBS]
    if unknown:
        return f"--jobs names unknown job(s) {', '.join(unknown)} (choose from {', '.join(sorted(SPEC_JOBS))})"
    if args.job_name == "pipeline_entry" and not args.jobs:
        return "pipeline_entry needs --jobs a,b,c (the jobs whose specs the pipeline reads)"
    return None


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Parse, treat empty strings as unset, then check; usage problems raise SystemExit(2)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _unset_empty(args)
    problem = _usage_problem(args)
    if problem:
        parser.error(problem)
    return args


def main(argv: list[str]) -> int:
    try:
        args = parse_args(argv)
    except SystemExit as exit_:
        return 0 if exit_.code in (0, None) else 2
    if args.job_name in PLANNED_JOBS:
        cause = f"job {args.job_name} is not implemented by this runtime version"
        log("job_failed", level="error", job=args.job_name, error="JobNotImplemented", cause=cause)
        return 1
    root = args.storage_root or os.environ.get(STORAGE_ROOT_ENV) or None
    master = args.spark_master or os.environ.get(SPARK_MASTER_ENV) or ("local[*]" if root else None)
    context = JobContext(storage_from_env(root), master, args.table_name)
    log(
        "job_started",
        job=args.job_name,
        project_name=args.project_name,
        feature_spec_version=args.feature_spec_version,
        mini_batch_id=args.mini_batch_id,
        reference_ts_iso=args.reference_ts_iso,
        jobs=list(args.jobs) or None,
        storage="local" if root else "s3",
        spark_master=master,
    )
    try:
        summary = JOBS[args.job_name](args, context)
    except (RuntimeJobError, BatchKeyError, BatchTimestampError) as err:
        log("job_failed", level="error", job=args.job_name, error=type(err).__name__, cause=str(err))
        return 1
    except Exception as err:  # a one-line cause instead of a traceback, for any failure
        cause = " ".join(str(err).split()) or type(err).__name__
        log("job_failed", level="error", job=args.job_name, error=type(err).__name__, cause=cause[:2000])
        return 1
    sys.stdout.write(json.dumps({"job": args.job_name, "status": "succeeded", **summary}, default=str) + "\n")
    log("job_succeeded", job=args.job_name)
    return 0
