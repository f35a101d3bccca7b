"""`pair_counts_builder`: events per (source_ip, destination_ip, destination_port) of one mini-batch."""

from __future__ import annotations

import argparse
from typing import Any

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
from runtime.jobs.pair_counts_builder.spec import PairCountsJobSpec


def parse_spec(item: SpecItem) -> PairCountsJobSpec:
    return PairCountsJobSpec.from_payload(
        item.payload,
        item.where,
        project_name=item.project_name,
        job_name=item.job_name,
        version=item.feature_spec_version,
    )


def run(args: argparse.Namespace, context: JobContext) -> dict[str, Any]:
    from runtime.jobs.pair_counts_builder.builder import run_pair_counts_builder

    spec: PairCountsJobSpec = load_spec(args, context, PairCountsJobSpec)
    batch = batch_from_args(args, context, args.feature_spec_version or spec.feature_spec_version)
    return build_summary(run_pair_counts_builder(context.spark(), spec, batch, context.storage))


JOB = Job(
    name="pair_counts_builder",
    summary="one mini-batch of raw traffic -> event counts per source, destination and port",
    run=run,
    add_arguments=add_batch_arguments,
    check_arguments=check_batch_arguments,
    parse_spec=parse_spec,
)
