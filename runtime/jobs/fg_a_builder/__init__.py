"""`fg_a_builder`: delta rows -> one row per host and 15-minute window with trailing-window metrics."""

from __future__ import annotations

import argparse
from typing import Any

from runtime.jobs.fg_a_builder.spec import FgAJobSpec
from runtime.jobs.job import (
    Job,
    JobContext,
    SpecItem,
    add_batch_arguments,
    batch_from_args,
    build_summary,
    check_batch_arguments,
    load_spec,
)


def parse_spec(item: SpecItem) -> FgAJobSpec:
    return FgAJobSpec.from_payload(
        item.payload,
        item.where,
        project_name=item.project_name,
        job_name=item.job_name,
        version=item.feature_spec_version,
    )


def run(args: argparse.Namespace, context: JobContext) -> dict[str, Any]:
    from runtime.jobs.fg_a_builder.builder import run_fg_a_builder

    spec: FgAJobSpec = load_spec(args, context, FgAJobSpec)
    batch = batch_from_args(args, context, args.feature_spec_version or spec.feature_spec_version)
    return build_summary(run_fg_a_builder(context.spark(), spec, batch, context.storage))


JOB = Job(
    name="fg_a_builder",
    summary="delta rows -> per host and 15-minute window, trailing 15m/1h/8h/24h metrics (FG-A)",
    run=run,
    add_arguments=add_batch_arguments,
    check_arguments=check_batch_arguments,
    parse_spec=parse_spec,
)
