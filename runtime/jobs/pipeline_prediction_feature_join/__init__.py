"""`pipeline_prediction_feature_join`: one batch's predictions joined with its feature bundles.

An optional step of the `feature-15m` pipeline: a project without this job's spec skips it (exit 0,
`"skipped": true` in the summary), so only projects that ask for the join pay for it.
"""

from __future__ import annotations

import argparse
from typing import Any

from runtime.errors import RuntimeJobError, SpecNotFoundError
from runtime.jobs.job import Job, JobContext, SpecItem, add_batch_arguments, batch_from_args, check_batch_arguments
from runtime.jobs.pipeline_prediction_feature_join.spec import PredictionFeatureJoinSpec


def parse_spec(item: SpecItem) -> PredictionFeatureJoinSpec:
    return PredictionFeatureJoinSpec.from_payload(item.payload, item.where)


def run(args: argparse.Namespace, context: JobContext) -> dict[str, Any]:
    from runtime.config import load_job_spec
    from runtime.jobs.pipeline_prediction_feature_join.join import run_join

    try:
        spec = load_job_spec(args.project_name, args.job_name, args.feature_spec_version, table_name=context.table_name)
    except SpecNotFoundError as err:
        return {"skipped": True, "reason": f"the project does not ask for the join: {err}"}
    if not isinstance(spec, PredictionFeatureJoinSpec):
        raise RuntimeJobError(f"the {args.job_name} item did not parse as a PredictionFeatureJoinSpec")
    batch = batch_from_args(args, context, args.feature_spec_version)
    result = run_join(spec, batch, context.storage, f"{args.project_name}/{args.job_name}#{batch.feature_spec_version}")
    if result.metrics.get("status") == "skipped":
        return {"skipped": True, "reason": result.metrics["reason"]}
    return {
        "skipped": False,
        "output_uris": result.output_uris,
        "metrics_uri": result.metrics_uri,
        "output_rows": result.metrics["output_rows"],
    }


JOB = Job(
    name="pipeline_prediction_feature_join",
    summary="join one batch's predictions with its feature bundles (skipped when the project has no spec)",
    run=run,
    add_arguments=add_batch_arguments,
    check_arguments=check_batch_arguments,
    parse_spec=parse_spec,
)
