"""`pipeline_model_publish`: the trained model version registered in the SageMaker Model Registry."""

from __future__ import annotations

import argparse
from typing import Any

from runtime.jobs.job import Job, JobContext, SpecItem, load_spec
from runtime.jobs.pipeline_model_publish.spec import PublishSpec


def parse_spec(item: SpecItem) -> PublishSpec:
    return PublishSpec.from_payload(item.payload, item.where)


def add_arguments(group: argparse._ArgumentGroup) -> None:
    group.add_argument("--model-version", help="version to publish (else spec.model_version, else if_training's)")


def run(args: argparse.Namespace, context: JobContext) -> dict[str, Any]:
    import boto3

    from runtime.jobs.pipeline_model_publish.publish import publish_model
    from runtime.modelops.training_spec import load_training_settings

    spec: PublishSpec = load_spec(args, context, PublishSpec)
    version = args.model_version or spec.model_version
    if not version:
        version = load_training_settings(args.project_name, args.feature_spec_version, context.table_name).model_version
    if not version:
        from runtime.errors import SpecError

        raise SpecError("no model version: pass --model-version or set model.version in the if_training spec")
    return publish_model(spec, args.project_name, version, context.storage, boto3.client("sagemaker"))


JOB = Job(
    name="pipeline_model_publish",
    summary="register the trained model version in the SageMaker Model Registry (idempotent)",
    run=run,
    add_arguments=add_arguments,
    parse_spec=parse_spec,
)
