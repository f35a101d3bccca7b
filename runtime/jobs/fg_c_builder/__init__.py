"""`fg_c_builder`: one batch of FG-A rows -> robust z, log-ratio and percentile position against FG-B baselines."""

from __future__ import annotations

import argparse
from typing import Any

from runtime.jobs.fg_c_builder.spec import FgCJobSpec
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


def parse_spec(item: SpecItem) -> FgCJobSpec:
    return FgCJobSpec.from_payload(
        item.payload,
        item.where,
        project_name=item.project_name,
        job_name=item.job_name,
        version=item.feature_spec_version,
    )


def run(args: argparse.Namespace, context: JobContext) -> dict[str, Any]:
    from runtime.jobs.fg_c_builder.builder import run_fg_c_builder

    spec: FgCJobSpec = load_spec(args, context, FgCJobSpec)
    batch = batch_from_args(args, context, args.feature_spec_version or spec.feature_spec_version)
    return build_summary(run_fg_c_builder(context.spark(), spec, batch, context.storage))


JOB = Job(
    name="fg_c_builder",
    summary="one batch of FG-A rows -> robust z-scores, log-ratios and percentile positions against FG-B",
    run=run,
    add_arguments=add_batch_arguments,
    check_arguments=check_batch_arguments,
    parse_spec=parse_spec,
)
