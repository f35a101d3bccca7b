"""The model attributes document `pipeline_model_attributes` writes and `inference_predictions` reads.

Stored as S3 JSON next to the artifacts, not as a DynamoDB item: it is a per-model-version document
(feature list, percentiles, metrics) written once by the training pipeline, read once per inference
batch, and it can outgrow an item's 400 KB with feature statistics; the parameters table holds
reviewed, compiled specs that `ndrc publish` owns (an item written by a pipeline would show up as drift).

Layout: `<output.s3_prefix>/<model_version>/attributes.json` (immutable per version) and
`<output.s3_prefix>/latest.json` (a copy of the newest, what inference reads when it names no version).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from runtime.errors import RuntimeJobError
from runtime.storage import Storage, join

SCHEMA_VERSION = 1
LATEST = "latest.json"


def version_uri(prefix: str, model_version: str) -> str:
    return join(prefix, model_version, "attributes.json")


def latest_uri(prefix: str) -> str:
    return join(prefix, LATEST)


@dataclass(frozen=True)
class ModelAttributes:
    model_version: str
    feature_names: tuple[str, ...]
    score_threshold: float | None
    document: Mapping[str, Any]

    @classmethod
    def from_document(cls, document: Mapping[str, Any], where: str) -> ModelAttributes:
        try:
            features = document["feature_names"]
            threshold = document.get("thresholds", {}).get("score_threshold")
            if not isinstance(features, list) or not all(isinstance(f, str) for f in features):
                raise TypeError("feature_names must be a list of strings")
            return cls(
                str(document["model_version"]),
                tuple(features),
                None if threshold is None else float(threshold),
                document,
            )
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise RuntimeJobError(f"{where} is not a model attributes document ({err})") from None


def write_attributes(storage: Storage, prefix: str, document: Mapping[str, Any]) -> tuple[str, str]:
    body = json.dumps(document, indent=2, sort_keys=True).encode("utf-8")
    versioned, latest = version_uri(prefix, str(document["model_version"])), latest_uri(prefix)
    storage.write_bytes(versioned, body)
    storage.write_bytes(latest, body)
    return versioned, latest


def read_attributes(storage: Storage, prefix: str, model_version: str | None) -> ModelAttributes:
    uri = version_uri(prefix, model_version) if model_version else latest_uri(prefix)
    if not storage.exists(uri):
        raise RuntimeJobError(f"no model attributes at {uri} (run pipeline_model_attributes first)")
    try:
        document = json.loads(storage.read_bytes(uri))
    except json.JSONDecodeError as err:
        raise RuntimeJobError(f"{uri} is not JSON ({err})") from None
    if not isinstance(document, dict):
        raise RuntimeJobError(f"{uri} is not a JSON object")
    return ModelAttributes.from_document(document, uri)
