"""The JSON forest replays scikit-learn's IsolationForest.score_samples (independent recomputation)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.ensemble import IsolationForest

from runtime.models.forest import ForestError, ForestScorer, average_path_length, forest_to_dict


@pytest.mark.parametrize(("max_features", "max_samples"), [(1.0, 64), (0.5, 200), (0.8, "auto")])
def test_json_forest_scores_like_sklearn(max_features: float, max_samples: int | str) -> None:
    rng = np.random.default_rng(0)
    train = np.vstack([rng.normal(size=(400, 6)), rng.normal(8, 1, size=(4, 6))])
    test = np.vstack([rng.normal(size=(300, 6)), rng.uniform(-20, 20, size=(20, 6))])
    forest = IsolationForest(n_estimators=40, max_samples=max_samples, max_features=max_features, random_state=3)
    forest.fit(train)
    data = json.loads(json.dumps(forest_to_dict(forest)))  # through JSON text, as loaded from the archive
    ours = ForestScorer(data, 6).score(test)
    np.testing.assert_allclose(ours, -forest.score_samples(test), rtol=1e-12, atol=0)


def test_average_path_length_matches_the_formula() -> None:
    n = np.array([0, 1, 2, 3, 256])
    expected = [
        0.0,
        0.0,
        1.0,
        2 * (np.log(2) + np.euler_gamma) - 2 * 2 / 3,
        2 * (np.log(255) + np.euler_gamma) - 2 * 255 / 256,
    ]
    np.testing.assert_allclose(average_path_length(n), expected, rtol=1e-15)


def _tiny() -> dict[str, object]:
    forest = IsolationForest(n_estimators=2, max_samples=8, random_state=0).fit(np.arange(20.0).reshape(10, 2))
    return forest_to_dict(forest)


def test_malformed_forests_are_refused() -> None:
    data = _tiny()
    with pytest.raises(ForestError, match="unknown forest format"):
        ForestScorer({**data, "format": "pickle"}, 2)
    with pytest.raises(ForestError, match="feature index"):
        ForestScorer(data, 1)
    bad = json.loads(json.dumps(data))
    bad["trees"][0]["children_left"][0] = 0  # a cycle back to the root
    with pytest.raises(ForestError, match="child index"):
        ForestScorer(bad, 2)
    with pytest.raises(ForestError, match="expected rows of 2 features"):
        ForestScorer(data, 2).score(np.zeros((3, 3)))
