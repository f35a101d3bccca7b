"""The inference_predictions spec: defaults, the seed's keys, readable errors."""

from __future__ import annotations

from typing import Any

import pytest

from runtime.errors import SpecError
from runtime.jobs.inference_predictions.spec import InferenceSpec

BASE: dict[str, Any] = {
    "feature_inputs": {"fg_c": {"s3_prefix": "s3://f/fg_c/", "required": False}, "fg_a": {"s3_prefix": "s3://f/fg_a/"}},
    "model": {"endpoint_name": "ep"},
    "output": {"s3_prefix": "s3://f/predictions/"},
}


def parse(**overrides: Any) -> InferenceSpec:
    return InferenceSpec.from_payload({**BASE, **overrides}, "ndr-prod/inference_predictions#v1", "ndr-prod", "v1")


def test_defaults() -> None:
    spec = parse()
    assert [(i.name, i.dataset, i.required) for i in spec.feature_inputs] == [
        ("fg_a", "fg_a", True),
        ("fg_c", "fg_c", False),
    ]
    assert spec.join_keys == ("host_ip", "window_label", "window_end_ts")
    assert spec.output.partition_keys == ("feature_spec_version", "dt") and spec.output.idempotent
    model = spec.model
    assert (model.content_type, model.accept, model.max_workers, model.max_retries) == (
        "text/csv",
        "application/json",
        4,
        3,
    )
    assert model.max_payload_bytes == 6 * 1024 * 1024
    assert (spec.score_column, spec.label_column, spec.join_output) == ("anomaly_score", "is_anomaly", None)


def test_dataset_is_appended_to_the_output_prefix() -> None:
    spec = parse(
        output={"s3_prefix": "s3://f/v1/", "dataset": "predictions", "partition_keys": ["dt"]},
        join_output={"s3_prefix": "s3://f/v1/join/"},
    )
    assert spec.output.s3_prefix == "s3://f/v1/predictions/" and spec.output_dataset == "predictions"
    assert spec.output.partition_keys == ("dt",)
    assert spec.join_output is not None and spec.join_output.s3_prefix == "s3://f/v1/join/"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"model": {"endpoint_name": "ep", "max_payload_mb": 7}}, "spec.model.max_payload_mb must be > 0.0 and <= 6"),
        ({"model": {"endpoint_name": "ep", "content_type": "text/plain"}}, "spec.model.content_type must be one of"),
        ({"model": {"endpoint_name": "ep", "max_workers": 0}}, "spec.model.max_workers must be an integer >= 1"),
        ({"model": {}}, "spec.model.endpoint_name is required"),
        ({"payload": {"feature_columns": ["host_ip", "x"]}}, "must not include join keys ['host_ip']"),
        ({"prediction_schema": {"score_column": "s", "label_column": "s"}}, "columns must differ"),
        ({"feature_inputs": {}}, "spec.feature_inputs must name at least one feature bundle"),
    ],
)
def test_bad_specs_are_located(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecError) as raised:
        parse(**overrides)
    assert message in str(raised.value) and "ndr-prod/inference_predictions#v1" in str(raised.value)
