"""pipeline_model_attributes: the document inference reads, recomputed independently."""

from __future__ import annotations

import io
import json
import uuid
from typing import Any

import boto3
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from runtime.jobs.pipeline_model_attributes.attributes import build_attributes
from runtime.jobs.pipeline_model_attributes.spec import AttributesSpec
from runtime.jobs.pipeline_model_publish.publish import publish_model
from runtime.jobs.pipeline_model_publish.spec import PublishSpec
from runtime.modelops.attributes import read_attributes
from runtime.storage import LocalStorage
from tests.runtime.modelops.artifact_fixture import write_artifact

ARTIFACTS = "s3://models/ndr-prod/v1/if_training/"
SCORED = "s3://models/ndr-prod/v1/if_training/scored_training_data/"
OUT = "s3://models/ndr-prod/v1/if_training/attributes/"


def spec(**attributes: Any) -> AttributesSpec:
    payload = {
        "model": {"version": "if-1", "artifacts_s3_prefix": ARTIFACTS},
        "scoring_input": {"s3_prefix": SCORED},
        "attributes": {"score_percentiles": [50, 90, 99.5], "score_threshold_percentile": 99, **attributes},
        "output": {"s3_prefix": OUT},
    }
    return AttributesSpec.from_payload(payload, "test")


def write_scores(storage: LocalStorage, scores: list[float | None]) -> None:
    sink = io.BytesIO()
    table = pa.table(
        {"anomaly_score": pa.array(scores, pa.float64()), "f1": pa.array([float(i) for i in range(len(scores))])}
    )
    pq.write_table(table, sink)
    storage.write_bytes(f"{SCORED}ndr-prod/if-1/part-0.parquet", sink.getvalue())


def test_attributes_from_manifest_and_training_scores(storage: LocalStorage) -> None:
    write_artifact(storage, ARTIFACTS, "ndr-prod", "if-1", features=("f1", "f2"))
    rng = np.random.default_rng(3)
    scores = [float(s) for s in rng.normal(0.5, 0.1, 997)]
    write_scores(storage, [*scores, None, None, None])
    summary = build_attributes(spec(), "ndr-prod", storage, None, "2025-02-01T00:00:00Z")
    attributes = read_attributes(storage, OUT, "if-1")
    assert read_attributes(storage, OUT, None).document == attributes.document  # latest.json = the newest
    assert attributes.feature_names == ("f1", "f2")
    expected_threshold = float(np.percentile(scores, 99))
    assert attributes.score_threshold == pytest.approx(expected_threshold, rel=1e-12)
    assert summary["score_threshold"] == attributes.score_threshold
    document = attributes.document
    assert document["score_percentiles"] == {
        k: pytest.approx(float(np.percentile(scores, float(k))), rel=1e-12) for k in ("50", "90", "99.5")
    }
    assert document["thresholds"]["source"] == "training_scores" and document["scored_rows"] == 997
    assert document["data_window"]["end"] == "2024-12-31T23:45:00Z"
    assert document["feature_stats"]["f1"] == {"count": 1000, "null_count": 0, "mean": 499.5, "min": 0.0, "max": 999.0}
    assert "f2" not in document["feature_stats"]
    assert document["lineage"]["artifact_uri"].endswith("ndr-prod/if-1/model.tar.gz")


def test_threshold_falls_back_to_the_manifest_without_scored_data(storage: LocalStorage) -> None:
    write_artifact(storage, ARTIFACTS, "ndr-prod", "if-1", threshold=0.73)
    build_attributes(spec(include=["feature_list", "thresholds"]), "ndr-prod", storage, None, None)
    attributes = read_attributes(storage, OUT, "if-1")
    assert attributes.score_threshold == 0.73 and attributes.document["thresholds"]["source"] == "manifest"
    assert "lineage" not in attributes.document and "feature_stats" not in attributes.document


def test_lineage_names_the_published_package(aws_env: str, storage: LocalStorage) -> None:
    sm = boto3.client("sagemaker")
    group = f"ndr-test-{uuid.uuid4().hex[:8]}"
    write_artifact(storage, ARTIFACTS, "ndr-prod", "if-1")
    publish = PublishSpec.from_payload(
        {
            "artifacts_s3_prefix": ARTIFACTS,
            "model_package_group_name": group,
            "inference_image_uri": "123.dkr.ecr.us-east-1.amazonaws.com/x:1",
        },
        "t",
    )
    arn = publish_model(publish, "ndr-prod", "if-1", storage, sm)["model_package_arn"]
    payload = {
        "model": {"version": "if-1", "artifacts_s3_prefix": ARTIFACTS, "model_package_group_name": group},
        "output": {"s3_prefix": OUT},
    }
    build_attributes(AttributesSpec.from_payload(payload, "t"), "ndr-prod", storage, sm, None)
    document = json.loads(storage.read_bytes(f"{OUT}if-1/attributes.json"))
    assert document["lineage"]["model_package_arn"] == arn
