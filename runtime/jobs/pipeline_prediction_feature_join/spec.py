"""The typed `pipeline_prediction_feature_join` spec: predictions_input, feature_inputs, join_keys,
join_type, output."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from runtime.config.output import OutputSpec
from runtime.config.payload import PayloadReader
from runtime.inference import spec_parts
from runtime.storage import as_dir, join

JOIN_TYPES = ("inner", "left")


@dataclass(frozen=True)
class PredictionFeatureJoinSpec:
    predictions_s3_prefix: str
    """`predictions_input.s3_prefix`, with `predictions_input.dataset` appended when given."""
    feature_inputs: tuple[spec_parts.FeatureInput, ...]
    output: OutputSpec
    join_keys: tuple[str, ...] = spec_parts.DEFAULT_JOIN_KEYS
    join_type: str = "inner"
    output_dataset: str | None = None
    inference_output_prefix: str | None = None
    """`predictions_input.s3_prefix` as given: inference's `output.s3_prefix`, where its per-batch metrics are."""

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any], where: str) -> PredictionFeatureJoinSpec:
        r = PayloadReader(payload, where)
        join_type = r.string("join_type", "inner")
        if join_type not in JOIN_TYPES:
            raise r.fail("join_type", f"must be one of {', '.join(JOIN_TYPES)} (got {join_type!r})")
        output, dataset = spec_parts.dataset_output(r, "output")
        predictions = r.string("predictions_input.s3_prefix")
        dataset = r.string("predictions_input.dataset", None)
        return cls(
            predictions_s3_prefix=as_dir(join(predictions, dataset)) if dataset else predictions,
            feature_inputs=spec_parts.feature_inputs(r),
            output=output,
            join_keys=spec_parts.join_keys(r),
            join_type=join_type,
            output_dataset=dataset,
            inference_output_prefix=predictions,
        )
