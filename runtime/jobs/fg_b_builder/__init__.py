"""`fg_b_builder`: daily robust baselines of FG-A metrics per host / machine / segment and horizon."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from runtime.contract import PROJECT_PARAMETERS_JOB
from runtime.errors import JobUsageError, RuntimeJobError
from runtime.jobs.fg_b_builder.spec import FgBJobSpec
from runtime.jobs.job import Job, JobContext, SpecItem, build_summary, load_spec
from runtime.orchestration.window import to_utc


def parse_spec(item: SpecItem) -> FgBJobSpec:
    return FgBJobSpec.from_payload(
        item.payload,
        item.where,
        project_name=item.project_name,
        job_name=item.job_name,
        version=item.feature_spec_version,
    )


def machine_mapping_prefix(args: argparse.Namespace, context: JobContext, spec: FgBJobSpec) -> str | None:
    """`ip_machine_mapping.s3_prefix` (or an s3:// `s3_prefix_key`), else the project_parameters key it names."""
    mapping = spec.machine_mapping
    if mapping is None:
        return None
    if mapping.s3_prefix:
        return mapping.s3_prefix
    from runtime.config import load_job_spec

    params = load_job_spec(
        args.project_name, PROJECT_PARAMETERS_JOB, args.feature_spec_version, table_name=context.table_name
    )
    value = params.get(mapping.project_key)
    if not isinstance(value, str) or not value.startswith(("s3://", "s3a://")):
        raise RuntimeJobError(
            f"ip_machine_mapping needs project_parameters.{mapping.project_key} (an s3:// prefix) for project "
            f"{args.project_name!r}, or ip_machine_mapping.s3_prefix in the fg_b_builder spec (got {value!r})"
        )
    return value


def run(args: argparse.Namespace, context: JobContext) -> dict[str, Any]:
    from runtime.jobs.fg_b_builder.builder import run_fg_b_builder

    spec: FgBJobSpec = load_spec(args, context, FgBJobSpec)
    version = args.feature_spec_version or spec.feature_spec_version
    if not version:
        raise JobUsageError("pass --feature-spec-version: the fg_b_builder item is unversioned")
    reference = to_utc(args.reference_ts_iso) if args.reference_ts_iso else datetime.now(UTC)
    prefix = machine_mapping_prefix(args, context, spec)
    result = run_fg_b_builder(
        context.spark(),
        spec,
        context.storage,
        reference=reference,
        feature_spec_version=version,
        machine_mapping_prefix=prefix,
    )
    return build_summary(result)


JOB = Job(
    name="fg_b_builder",
    summary="daily robust baselines (median, MAD, percentiles) of FG-A metrics per host, machine and segment",
    run=run,
    parse_spec=parse_spec,
)
