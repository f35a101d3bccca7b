"""`delta_builder`: raw Palo Alto traffic of one mini-batch -> per-role delta rows."""

from __future__ import annotations

import argparse
from typing import Any

from runtime.errors import SpecError
from runtime.jobs.delta_builder.spec import DeltaJobSpec
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


def parse_spec(item: SpecItem) -> DeltaJobSpec:
    spec = DeltaJobSpec.from_payload(item.payload, item.where)
    if spec.project_name != item.project_name:
        raise SpecError(f"{item.where}: spec.project_name {spec.project_name!r} differs from the item key")
    return spec


def run(args: argparse.Namespace, context: JobContext) -> dict[str, Any]:
    from runtime.jobs.delta_builder.builder import run_delta_builder

    spec: DeltaJobSpec = load_spec(args, context, DeltaJobSpec)
    batch = batch_from_args(args, context, args.feature_spec_version or spec.feature_spec_version)
    return build_summary(run_delta_builder(context.spark(), spec, batch, context.storage))


JOB = Job(
    name="delta_builder",
    summary="one mini-batch of raw traffic -> DQ-checked, enriched per-role delta rows",
    run=run,
    add_arguments=add_batch_arguments,
    check_arguments=check_batch_arguments,
    parse_spec=parse_spec,
)
