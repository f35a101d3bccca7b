"""The typed `inference_predictions` spec (seed: feature_inputs, join_keys, model, output, payload,
prediction_schema, join_output)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from runtime.config.output import OutputSpec
from runtime.config.payload import PayloadReader
from runtime.inference import spec_parts
from runtime.inference.payloads import MIB
from runtime.serving.codecs import CONTENT_TYPES, JSON
from runtime.serving.server import SAGEMAKER_MAX_PAYLOAD_BYTES


@dataclass(frozen=True)
class ModelSettings:
    endpoint_name: str
    timeout_seconds: float = 60.0
    max_payload_mb: float = SAGEMAKER_MAX_PAYLOAD_BYTES / MIB
    max_records_per_payload: int = 1000
    max_retries: int = 3
    backoff_seconds: float = 1.0
    content_type: str = "text/csv"
    accept: str = JSON
    model_version: str | None = None
    model_name: str | None = None
    max_workers: int = 4
    region: str | None = None
    attributes_s3_prefix: str | None = None
    """Where `pipeline_model_attributes` wrote the model's attributes (feature list, threshold)."""

    @property
    def max_payload_bytes(self) -> int:
        return int(self.max_payload_mb * MIB)


@dataclass(frozen=True)
class InferenceSpec:
    project_name: str
    feature_spec_version: str | None
    feature_inputs: tuple[spec_parts.FeatureInput, ...]
    model: ModelSettings
    output: OutputSpec
    join_keys: tuple[str, ...] = spec_parts.DEFAULT_JOIN_KEYS
    feature_columns: tuple[str, ...] | None = None
    score_column: str = "anomaly_score"
    label_column: str = "is_anomaly"
    output_dataset: str | None = None
    join_output: OutputSpec | None = None
    join_output_dataset: str | None = None

    @classmethod
    def from_payload(
        cls, payload: Mapping[str, Any], where: str, project_name: str, feature_spec_version: str | None
    ) -> InferenceSpec:
        r = PayloadReader(payload, where)
        output, output_dataset = spec_parts.dataset_output(r, "output")
        join_output, join_dataset = (
            spec_parts.dataset_output(r, "join_output") if r.has("join_output") else (None, None)
        )
        spec = cls(
            project_name=project_name,
            feature_spec_version=feature_spec_version,
            feature_inputs=spec_parts.feature_inputs(r),
            model=_model(r),
            output=output,
            join_keys=spec_parts.join_keys(r),
            feature_columns=r.strings("payload.feature_columns", None),
            score_column=r.string("prediction_schema.score_column", "anomaly_score"),
            label_column=r.string("prediction_schema.label_column", "is_anomaly"),
            output_dataset=output_dataset,
            join_output=join_output,
            join_output_dataset=join_dataset,
        )
        spec_parts.check_distinct(where, score_column=spec.score_column, label_column=spec.label_column)
        overlap = sorted(set(spec.feature_columns or ()) & set(spec.join_keys))
        if overlap:
            raise r.fail("payload.feature_columns", f"must not include join keys {overlap}")
        return spec


def _model(r: PayloadReader) -> ModelSettings:
    content_type = r.string("model.content_type", "text/csv")
    accept = r.string("model.accept", JSON)
    for path, value in (("model.content_type", content_type), ("model.accept", accept)):
        if value not in CONTENT_TYPES:
            raise r.fail(path, f"must be one of {', '.join(CONTENT_TYPES)} (got {value!r})")
    return ModelSettings(
        endpoint_name=r.string("model.endpoint_name"),
        timeout_seconds=spec_parts.number(r, "model.timeout_seconds", 60.0, exclusive_minimum=True),
        max_payload_mb=spec_parts.number(
            r, "model.max_payload_mb", SAGEMAKER_MAX_PAYLOAD_BYTES / MIB, maximum=6, exclusive_minimum=True
        ),
        max_records_per_payload=spec_parts.integer(r, "model.max_records_per_payload", 1000, minimum=1),
        max_retries=spec_parts.integer(r, "model.max_retries", 3),
        backoff_seconds=spec_parts.number(r, "model.backoff_seconds", 1.0),
        content_type=content_type,
        accept=accept,
        model_version=r.string("model.model_version", None),
        model_name=r.string("model.model_name", None),
        max_workers=spec_parts.integer(r, "model.max_workers", 4, minimum=1),
        region=r.string("model.region", None),
        attributes_s3_prefix=r.string("model.attributes_s3_prefix", None),
    )
