"""`python -m runtime <job_name> ...`: what compiled pipeline steps call and `ndrc run` wraps.

Exit codes: 0 ok, 1 the job failed (one-line cause logged as JSON on stderr), 2 usage error (also
when the arguments a job needs are missing, `JobUsageError`).
A JSON summary of the run is printed on stdout on success. An empty string given to any option means
"unset" (pipeline parameters default to ""). The options are the common ones plus those the job
registers (`python -m runtime <job> --help`); `python -m runtime --help` lists the jobs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from runtime.errors import BatchKeyError, BatchTimestampError, JobUsageError, RuntimeJobError
from runtime.jobs.job import Job, JobContext
from runtime.jobs.registry import REGISTRY
from runtime.jsonlog import log
from runtime.orchestration.window import iso_z, to_utc
from runtime.storage import STORAGE_ROOT_ENV, storage_from_env

SPARK_MASTER_ENV = "NDRC_SPARK_MASTER"
PROG = "python -m runtime"


def jobs_listing() -> str:
    width = max(len(name) for name in REGISTRY)
    lines = [f"  {name.ljust(width)}  {job.summary}" for name, job in sorted(REGISTRY.items())]
    return "jobs:\n" + "\n".join(lines)


def build_parser(job: Job | None) -> argparse.ArgumentParser:
    """The common options, plus the options of `job` when one is named."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Run one ndrc runtime job.",
        epilog=None if job else jobs_listing(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("job_name", help="the job to run (see the list below)" if not job else job.summary)
    parser.add_argument("--project-name", required=True)
    parser.add_argument("--feature-spec-version")
    parser.add_argument("--reference-ts-iso", help="reference time, ISO-8601 (normalised to UTC `Z`)")
    env = parser.add_argument_group("environment")
    env.add_argument("--table-name", help="parameters table (else ML_PROJECTS_PARAMETERS_TABLE_NAME)")
    env.add_argument("--storage-root", help=f"local dir standing in for buckets (else {STORAGE_ROOT_ENV})")
    env.add_argument("--spark-master", help=f"e.g. local[*] (else {SPARK_MASTER_ENV}; local[*] with a root)")
    if job is not None:
        job.add_arguments(parser.add_argument_group(job.name))
    return parser


POSITIONALS = frozenset({"job_name"})


def unset_empty(args: argparse.Namespace) -> None:
    """An empty string given to any option means unset (pipeline parameters default to "")."""
    for name, value in vars(args).items():
        if name not in POSITIONALS and isinstance(value, str) and not value.strip():
            setattr(args, name, None)


def _named_job(argv: list[str]) -> str | None:
    """The first positional argument, before the full parser (which depends on it) exists."""
    peek = argparse.ArgumentParser(add_help=False)
    peek.add_argument("job_name", nargs="?")
    known, _ = peek.parse_known_args([a for a in argv if a not in ("-h", "--help")])
    return known.job_name


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Parse, treat empty strings as unset, then check; usage problems raise SystemExit(2)."""
    name = _named_job(argv)
    job = REGISTRY.get(name) if name else None
    parser = build_parser(job)
    if name and job is None:
        parser.error(f"unknown job {name!r}\n{jobs_listing()}")
    args = parser.parse_args(argv)
    unset_empty(args)
    if args.project_name is None:
        parser.error("--project-name must not be empty")
    if args.reference_ts_iso is not None:
        try:
            args.reference_ts_iso = iso_z(to_utc(args.reference_ts_iso))
        except BatchTimestampError:
            parser.error(f"--reference-ts-iso {args.reference_ts_iso!r} is not ISO-8601 (e.g. 2025-01-15T10:08:00Z)")
    try:
        REGISTRY[args.job_name].check_arguments(args)
    except JobUsageError as err:
        parser.error(str(err))
    return args


def main(argv: list[str]) -> int:
    try:
        args = parse_args(argv)
    except SystemExit as exit_:
        return 0 if exit_.code in (0, None) else 2
    root = args.storage_root or os.environ.get(STORAGE_ROOT_ENV) or None
    master = args.spark_master or os.environ.get(SPARK_MASTER_ENV) or ("local[*]" if root else None)
    context = JobContext(storage_from_env(root), master, args.table_name)
    jobs = getattr(args, "jobs", None)
    log(
        "job_started",
        job=args.job_name,
        project_name=args.project_name,
        feature_spec_version=args.feature_spec_version,
        mini_batch_id=getattr(args, "mini_batch_id", None),
        reference_ts_iso=args.reference_ts_iso,
        jobs=list(jobs) if jobs else None,
        storage="local" if root else "s3",
        spark_master=master,
    )
    try:
        summary = REGISTRY[args.job_name].run(args, context)
    except JobUsageError as err:
        log("job_failed", level="error", job=args.job_name, error="UsageError", cause=str(err))
        return 2
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
