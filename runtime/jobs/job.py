"""What a runtime job is: its name, how its spec item parses, its command-line options and its run function.

A job lives in its own folder `runtime/jobs/<job_name>/` whose `__init__.py` defines `JOB = Job(...)`;
`runtime/jobs/registry.py` lists them. Nothing here imports pyspark: a job's `run` imports its builder
lazily, so the compiler and `python -m runtime --help` stay light.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from runtime.batch import BatchContext, resolve_batch
from runtime.config.payload import JobPayload
from runtime.errors import JobUsageError, RuntimeJobError
from runtime.storage import Storage

ArgumentAdder = Callable[[argparse._ArgumentGroup], None]


@dataclass(frozen=True)
class SpecItem:
    """One decoded parameters-table item, ready for a job's `parse_spec`."""

    project_name: str
    job_name: str
    feature_spec_version: str | None
    payload: Mapping[str, Any]
    attributes: Mapping[str, Any] = field(default_factory=dict)
    where: str = ""


@dataclass(frozen=True)
class JobContext:
    """What every run gets besides its arguments: storage, Spark master and the parameters table."""

    storage: Storage
    spark_master: str | None
    table_name: str | None

    def spark(self) -> Any:
        from runtime.spark import build_spark_session

        return build_spark_session("ndrc-runtime", master=self.spark_master)


def untyped_spec(item: SpecItem) -> JobPayload:
    """The spec as a `JobPayload` (dotted-path access with readable errors), for jobs without a dataclass."""
    return JobPayload(item.project_name, item.job_name, item.feature_spec_version, item.payload, item.attributes)


def no_arguments(group: argparse._ArgumentGroup) -> None:
    del group


@dataclass(frozen=True)
class Job:
    name: str
    summary: str
    run: Callable[[argparse.Namespace, JobContext], dict[str, Any]]
    add_arguments: ArgumentAdder = no_arguments
    parse_spec: Callable[[SpecItem], Any] | None = untyped_spec
    """None: the job reads no spec item of its own (e.g. `pipeline_entry`)."""
    check_arguments: Callable[[argparse.Namespace], None] = lambda args: None
    """Raises `JobUsageError` for missing or contradicting arguments, before anything is read."""


def add_batch_arguments(group: argparse._ArgumentGroup) -> None:
    """The batch a per-window job works on, as the 15-minute pipeline passes it."""
    group.add_argument("--mini-batch-id")
    group.add_argument("--mini-batch-s3-prefix")
    group.add_argument("--batch-start-ts-iso")
    group.add_argument("--batch-end-ts-iso")


def check_batch_arguments(args: argparse.Namespace) -> None:
    if not (args.mini_batch_id or args.mini_batch_s3_prefix):
        raise JobUsageError("pass --mini-batch-id or --mini-batch-s3-prefix")
    if bool(args.batch_start_ts_iso) != bool(args.batch_end_ts_iso):
        raise JobUsageError("pass both --batch-start-ts-iso and --batch-end-ts-iso, or neither")


def batch_from_args(args: argparse.Namespace, context: JobContext, feature_spec_version: str | None) -> BatchContext:
    if not feature_spec_version:
        raise JobUsageError(f"pass --feature-spec-version: the {args.job_name} item is unversioned")
    return resolve_batch(
        context.storage,
        project_name=args.project_name,
        feature_spec_version=feature_spec_version,
        mini_batch_id=args.mini_batch_id,
        mini_batch_s3_prefix=args.mini_batch_s3_prefix,
        batch_start_ts_iso=args.batch_start_ts_iso,
        batch_end_ts_iso=args.batch_end_ts_iso,
    )


def load_spec(args: argparse.Namespace, context: JobContext, expected: type) -> Any:
    """The job's own spec item, checked to have parsed as `expected`."""
    from runtime.config import load_job_spec

    spec = load_job_spec(args.project_name, args.job_name, args.feature_spec_version, table_name=context.table_name)
    if not isinstance(spec, expected):
        raise RuntimeJobError(f"the {args.job_name} item did not parse as a {expected.__name__}")
    return spec


def build_summary(result: Any) -> dict[str, Any]:
    """The stdout summary of a builder run (a `BuildResult`)."""
    return {
        "output_uri": result.output_uri,
        "partition_keys": list(result.partition_keys),
        "metrics_uri": result.metrics_uri,
        "metrics": result.metrics,
    }


def batch_builder_job(name: str, summary: str, spec_type: Any, builder: Callable[[], Callable[..., Any]]) -> Job:
    """A per-batch Spark builder: its spec parsed by `spec_type.from_payload` (identity from the item key); a run
    loads the spec, resolves the batch and calls `builder()(spark, spec, batch, storage)`. `builder` returns
    the builder function, importing it only when the job runs (Spark stays out of the registry)."""

    def parse_spec(item: SpecItem) -> Any:
        return spec_type.from_payload(
            item.payload,
            item.where,
            project_name=item.project_name,
            job_name=item.job_name,
            version=item.feature_spec_version,
        )

    def run(args: argparse.Namespace, context: JobContext) -> dict[str, Any]:
        spec = load_spec(args, context, spec_type)
        batch = batch_from_args(args, context, args.feature_spec_version or spec.feature_spec_version)
        return build_summary(builder()(context.spark(), spec, batch, context.storage))

    return Job(
        name=name,
        summary=summary,
        run=run,
        add_arguments=add_batch_arguments,
        check_arguments=check_batch_arguments,
        parse_spec=parse_spec,
    )
