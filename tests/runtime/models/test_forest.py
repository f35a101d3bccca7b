"""The JSON forest replays scikit-learn's IsolationForest.score_samples (independent recomputation)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.ensemble import IsolationForest

from runtime.models.forest import ForestError, ForestScorer, average_path_length, float32_at_most, forest_to_dict


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


def test_deep_trees_and_every_row_chunk_boundary_score_like_sklearn() -> None:
    rng = np.random.default_rng(1)
    train = rng.normal(size=(3000, 5)).round(1)  # coarse values: many rows sit right at a threshold's float32
    test = np.vstack([train[:700], rng.normal(size=(300, 5)), [[np.inf, -np.inf, 0, 0, 0]]])
    forest = IsolationForest(n_estimators=25, max_samples=2000, max_features=0.6, random_state=5).fit(train)
    scorer = ForestScorer(json.loads(json.dumps(forest_to_dict(forest))), 5)
    assert scorer.flat.steps == 11  # ceil(log2(2000)): deeper than the default 256-sample trees
    expected = -forest.score_samples(test)
    for chunk in (1, 7, 512, 5000):
        scorer.ROW_CHUNK = chunk
        np.testing.assert_allclose(scorer.score(test), expected, rtol=1e-12, atol=0)


def test_float32_thresholds_are_rounded_down_so_comparisons_stay_exact() -> None:
    rng = np.random.default_rng(2)
    thresholds = rng.normal(size=2000) * 10.0 ** rng.integers(-3, 4, size=2000)
    rounded = float32_at_most(thresholds)
    assert np.all(rounded.astype(np.float64) <= thresholds)
    assert np.all(np.nextafter(rounded, np.float32(np.inf)).astype(np.float64) > thresholds)
    near = np.concatenate([rounded, np.nextafter(rounded, np.float32(np.inf)), thresholds.astype(np.float32)])
    against = np.tile(thresholds, 3)
    np.testing.assert_array_equal(near <= np.tile(rounded, 3), near.astype(np.float64) <= against)


def test_missing_values_are_refused_not_routed() -> None:
    forest = IsolationForest(n_estimators=2, max_samples=8, random_state=0).fit(np.arange(20.0).reshape(10, 2))
    with pytest.raises(ForestError, match="NaN"):
        ForestScorer(forest_to_dict(forest), 2).score(np.array([[1.0, np.nan]]))


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
