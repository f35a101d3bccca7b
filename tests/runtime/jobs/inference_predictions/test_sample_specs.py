"""Every sample spec of the inference and model lifecycle jobs parses into its typed spec (the compiled
items of specs/, as the reviewed golden file holds them)."""

from __future__ import annotations

import json
from pathlib import Path

from runtime.config.ddb import decode_item
from runtime.config.loader import parse_item
from runtime.jobs.inference_predictions.spec import InferenceSpec
from runtime.jobs.pipeline_model_attributes.spec import AttributesSpec
from runtime.jobs.pipeline_model_deploy.spec import DeploySpec
from runtime.jobs.pipeline_model_publish.spec import PublishSpec
from runtime.jobs.pipeline_prediction_feature_join.spec import PredictionFeatureJoinSpec

GOLDEN = Path(__file__).resolve().parents[3] / "golden" / "dynamodb" / "ml_projects_parameters.jsonl"
TYPES = {
    "inference_predictions": InferenceSpec,
    "pipeline_prediction_feature_join": PredictionFeatureJoinSpec,
    "pipeline_model_publish": PublishSpec,
    "pipeline_model_attributes": AttributesSpec,
    "pipeline_model_deploy": DeploySpec,
}


def test_sample_specs_parse() -> None:
    seen = set()
    for line in GOLDEN.read_text().splitlines():
        item = decode_item(json.loads(line)["Item"])
        job = str(item["job_name"]).split("#")[0]
        if job in TYPES:
            assert isinstance(parse_item(item, "golden"), TYPES[job]), item["job_name"]
            seen.add(job)
    assert seen == set(TYPES)
