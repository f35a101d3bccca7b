"""`pipeline_model_attributes`: the model's attributes (version, features, thresholds, metrics, data window)
as S3 JSON where `inference_predictions` reads them (see runtime/modelops/attributes.py for why S3)."""

from __future__ import annotations

import argparse
from typing import Any

from runtime.jobs.job import Job, JobContext, SpecItem, load_spec
from runtime.jobs.pipeline_model_attributes.spec import AttributesSpec


def parse_spec(item: SpecItem) -> AttributesSpec:
    return AttributesSpec.from_payload(item.payload, item.where)


def run(args: argparse.Namespace, context: JobContext) -> dict[str, Any]:
    import boto3

    from runtime.jobs.pipeline_model_attributes.attributes import build_attributes

    spec: AttributesSpec = load_spec(args, context, AttributesSpec)
    sm = boto3.client("sagemaker") if spec.model_package_group_name else None
    return build_attributes(spec, args.project_name, context.storage, sm, args.reference_ts_iso)


JOB = Job(
    name="pipeline_model_attributes",
    summary="write the model's attributes (features, thresholds, metrics, data window) where inference reads them",
    run=run,
    parse_spec=parse_spec,
)
