"""`pipeline_model_deploy`: deploy the approved model package to the real-time endpoint inference calls,
when the project's if_training `deployment.deploy_on_success` is true (otherwise it does nothing, and says so)."""

from __future__ import annotations

import argparse
from typing import Any

from runtime.jobs.job import Job, JobContext, SpecItem, load_spec
from runtime.jobs.pipeline_model_deploy.spec import DeploySpec


def parse_spec(item: SpecItem) -> DeploySpec:
    return DeploySpec.from_payload(item.payload, item.where)


def run(args: argparse.Namespace, context: JobContext) -> dict[str, Any]:
    import boto3

    from runtime.jobs.pipeline_model_deploy.deploy import deploy
    from runtime.modelops.training_spec import load_training_settings

    spec: DeploySpec = load_spec(args, context, DeploySpec)
    training = load_training_settings(args.project_name, args.feature_spec_version, context.table_name)
    if training.deployment.get("deploy_on_success") is not True:
        return {
            "deployed": False,
            "endpoint_name": spec.endpoint_name,
            "reason": f"deployment.deploy_on_success is not true in {training.key}; nothing deployed",
        }
    prefix = training.deployment.get("endpoint_config_name")
    scaling = boto3.client("application-autoscaling") if spec.autoscaling else None
    return deploy(spec, boto3.client("sagemaker"), config_prefix=str(prefix) if prefix else None, scaling=scaling)


JOB = Job(
    name="pipeline_model_deploy",
    summary="create/update the model, endpoint config and endpoint (blue/green, rollback) when deploy_on_success",
    run=run,
    parse_spec=parse_spec,
)
