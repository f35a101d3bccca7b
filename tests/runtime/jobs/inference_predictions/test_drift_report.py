"""inference_predictions reports the batch's PSI against the model's training histograms (report only)."""

from __future__ import annotations

import math

import pytest

from runtime.jobs.inference_predictions.predict import batch_drift
from runtime.modelops.attributes import ModelAttributes

HALVES = {"edges": [0.0], "shares": [0.5, 0.5], "missing_share": 0.0}


def attributes(document: dict[str, object]) -> ModelAttributes:
    return ModelAttributes.from_document({"model_version": "m1", "feature_names": ["a", "b"], **document}, "t")


def test_psi_per_feature_and_the_largest() -> None:
    found = batch_drift(
        attributes({"feature_distributions": {"a": HALVES, "b": HALVES}}),
        ["a", "b"],
        [[-1.0, -1.0], [1.0, -1.0], [2.0, 1.0], [3.0, None]],
    )
    a = (0.25 - 0.5) * math.log(0.25 / 0.5) + (0.75 - 0.5) * math.log(0.75 / 0.5)  # (0.25, 0.75) vs halves
    b = (0.5 - 0.5) * 0 + (0.25 - 0.5) * math.log(0.25 / 0.5) + (0.25 - 1e-4) * math.log(0.25 / 1e-4)  # one null
    assert found["feature_psi"] == pytest.approx({"a": a, "b": b}, rel=1e-12)
    assert found["max_psi"] == found["feature_psi"]["b"]


def test_nothing_is_reported_without_histograms() -> None:
    assert batch_drift(attributes({}), ["a", "b"], [[1.0, 2.0]]) == {}
    assert batch_drift(None, ["a"], [[1.0]]) == {}
