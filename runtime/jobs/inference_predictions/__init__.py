"""`inference_predictions`: the feature bundles of one batch scored on a SageMaker endpoint (real boto3)."""

from __future__ import annotations

import argparse
from typing import Any

from runtime.errors import JobUsageError
from runtime.jobs.inference_predictions.spec import InferenceSpec
from runtime.jobs.job import (
    Job,
    JobContext,
    SpecItem,
    add_batch_arguments,
    batch_from_args,
    check_batch_arguments,
    load_spec,
)


def parse_spec(item: SpecItem) -> InferenceSpec:
    return InferenceSpec.from_payload(item.payload, item.where, item.project_name, item.feature_spec_version)


def add_arguments(group: argparse._ArgumentGroup) -> None:
    add_batch_arguments(group)
    group.add_argument(
        "--endpoint-url",
        help="sagemaker-runtime endpoint (else boto3's configuration, e.g. AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME)",
    )
    group.add_argument("--jitter-seed", help="integer seed of the retry backoff jitter (reproducible runs)")


def check_arguments(args: argparse.Namespace) -> None:
    check_batch_arguments(args)
    if args.jitter_seed is not None and not args.jitter_seed.lstrip("-").isdigit():
        raise JobUsageError(f"--jitter-seed must be an integer (got {args.jitter_seed!r})")


def run(args: argparse.Namespace, context: JobContext) -> dict[str, Any]:
    from runtime.inference.invoke import sagemaker_runtime_client
    from runtime.jobs.inference_predictions.predict import run_inference
    from runtime.jobs.inference_predictions.service import endpoint_checker

    spec: InferenceSpec = load_spec(args, context, InferenceSpec)
    batch = batch_from_args(args, context, args.feature_spec_version or spec.feature_spec_version)
    model = spec.model
    client = sagemaker_runtime_client(model.region, model.timeout_seconds, model.max_workers, args.endpoint_url)
    where = f"{args.project_name}/{args.job_name}#{batch.feature_spec_version}"
    seed = int(args.jitter_seed) if args.jitter_seed is not None else None
    result = run_inference(
        spec, batch, context.storage, client, where, seed=seed, endpoint_exists=endpoint_checker(model.region)
    )
    if result.metrics.get("status") == "skipped":
        return {"skipped": True, "reason": result.metrics["reason"], "metrics_uri": result.metrics_uri}
    return {
        "output_uris": result.output_uris,
        "join_output_uris": result.join_output_uris,
        "metrics_uri": result.metrics_uri,
        "metrics": {k: result.metrics[k] for k in ("records", "payloads", "retries", "failed_payloads", "latency_ms")},
    }


JOB = Job(
    name="inference_predictions",
    summary="score one batch's joined feature bundles on a SageMaker endpoint; write predictions (+ join)",
    run=run,
    add_arguments=add_arguments,
    check_arguments=check_arguments,
    parse_spec=parse_spec,
)
