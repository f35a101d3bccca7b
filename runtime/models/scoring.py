"""The scoring protocol serving and inference use, and the loader of an extracted `model.tar.gz`.

`load_model_artifact(path)` verifies every file against the manifest's sha256 (a mismatch, a missing
or an unlisted file is refused), then parses JSON only: no pickle, no code from the artifact runs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from runtime.models.artifact import FEATURES_FILE, FOREST_FILE, PREPROCESSING_FILE, ArtifactError, verified_files
from runtime.models.forest import ForestError, ForestScorer
from runtime.models.preprocessing import Preprocessor


class ScoringModel(Protocol):
    model_version: str
    feature_names: tuple[str, ...]

    def score(self, rows: Sequence[Sequence[float | None]]) -> list[float]:
        """One anomaly score per row, rows in feature_names order; HIGHER = MORE anomalous."""
        ...


@dataclass
class IsolationForestModel:
    """Preprocessing then the forest; a missing value (None) is imputed like any missing training value."""

    model_version: str
    feature_names: tuple[str, ...]
    preprocessor: Preprocessor
    forest: ForestScorer
    manifest: Mapping[str, Any]

    def score(self, rows: Sequence[Sequence[float | None]]) -> list[float]:
        width = len(self.feature_names)
        for i, row in enumerate(rows):
            if len(row) != width:
                raise ValueError(
                    f"row {i} has {len(row)} values, the model takes {width} ({', '.join(self.feature_names)})"
                )
        if not rows:
            return []
        matrix = np.array([[np.nan if v is None else float(v) for v in row] for row in rows], dtype=np.float64)
        return [float(v) for v in self.forest.score(self.preprocessor.transform(matrix))]

    def score_matrix(self, matrix: np.ndarray) -> np.ndarray:
        return self.forest.score(self.preprocessor.transform(matrix))

    @property
    def thresholds(self) -> Mapping[str, float]:
        return dict(self.manifest.get("score_thresholds", {}))


def _json(contents: Mapping[str, bytes], name: str) -> Any:
    try:
        return json.loads(contents[name])
    except KeyError as err:
        raise ArtifactError(f"the manifest does not list {name}") from err
    except ValueError as err:
        raise ArtifactError(f"{name}: not JSON ({err})") from err


def load_model_artifact(path: Path) -> ScoringModel:
    """The model of an extracted model.tar.gz directory, after verifying it against its manifest."""
    return load_isolation_forest(path)


def load_isolation_forest(path: Path) -> IsolationForestModel:
    manifest, contents = verified_files(Path(path))
    features = tuple(str(f) for f in _json(contents, FEATURES_FILE))
    if tuple(manifest.get("feature_names", ())) != features:
        raise ArtifactError(f"{path}: the manifest's feature_names differ from {FEATURES_FILE}")
    try:
        preprocessor = Preprocessor.from_dict(_json(contents, PREPROCESSING_FILE))
        forest = ForestScorer(_json(contents, FOREST_FILE), len(features))
    except (ForestError, ValueError, KeyError, TypeError) as err:
        raise ArtifactError(f"{path}: {err}") from err
    if preprocessor.features != features:
        raise ArtifactError(f"{path}: the preprocessing's features differ from {FEATURES_FILE}")
    return IsolationForestModel(str(manifest.get("model_version", "")), features, preprocessor, forest, manifest)
