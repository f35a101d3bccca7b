"""A real scikit-learn IsolationForest behind the `ScoringModel` protocol, for tests, benchmarks and
`ndrc local serve --fixture-model` before a trained artifact exists.

It is fitted from a JSON description (feature names, seed, row count) — data, never code — so nothing read
from disk is executed. Missing values are scored as 0.0 (IsolationForest takes no NaN).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_FEATURES: tuple[str, ...] = ("sessions_cnt_w_15m", "bytes_src_sum_w_15m", "bytes_dst_sum_w_15m")


@dataclass
class IsolationForestModel:
    model_version: str
    feature_names: tuple[str, ...]
    forest: Any

    def score(self, rows: Sequence[Sequence[float | None]]) -> list[float]:
        import numpy as np

        matrix = np.array([[0.0 if v is None else float(v) for v in row] for row in rows], dtype=float)
        if matrix.size == 0:
            return []
        return [float(s) for s in -self.forest.score_samples(matrix)]  # higher = more anomalous


def training_matrix(n_features: int, rows: int, seed: int) -> Any:
    import numpy as np

    rng = np.random.default_rng(seed)
    return rng.lognormal(mean=3.0, sigma=0.5, size=(rows, n_features))


def fit_fixture_model(
    feature_names: Sequence[str] = DEFAULT_FEATURES,
    seed: int = 7,
    rows: int = 512,
    model_version: str = "fixture-1",
    n_estimators: int = 50,
) -> IsolationForestModel:
    from sklearn.ensemble import IsolationForest

    forest = IsolationForest(n_estimators=n_estimators, random_state=seed)
    forest.fit(training_matrix(len(feature_names), rows, seed))
    return IsolationForestModel(model_version, tuple(feature_names), forest)


def load_fixture_model(path: Path) -> IsolationForestModel:
    """A `ModelLoader`: `path` is a folder holding `fixture_model.json` (or that file itself)."""
    file = path / "fixture_model.json" if path.is_dir() else path
    spec: dict[str, Any] = json.loads(file.read_text(encoding="utf-8"))
    return fit_fixture_model(
        tuple(spec.get("feature_names") or DEFAULT_FEATURES),
        int(spec.get("seed", 7)),
        int(spec.get("rows", 512)),
        str(spec.get("model_version", "fixture-1")),
        int(spec.get("n_estimators", 50)),
    )
