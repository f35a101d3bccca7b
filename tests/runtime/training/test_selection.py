from __future__ import annotations

import numpy as np

from runtime.training.selection import all_features, permutation_importance, select_features, select_once


def _matrix() -> tuple[np.ndarray, tuple[str, ...]]:
    rng = np.random.default_rng(2)
    a = rng.normal(size=400)
    b = rng.normal(size=400) * 2
    matrix = np.column_stack([a, b, a * 3 + 1e-9 * rng.normal(size=400), np.full(400, 5.0)])
    return matrix, ("a", "b", "a_times_3", "constant")


def test_variance_and_correlation_drop_the_constant_and_the_duplicate() -> None:
    matrix, names = _matrix()
    # a_times_3 has the larger variance, so it is kept and `a` (|corr| = 1) is dropped
    assert select_once(matrix, names, variance_threshold=1e-4, corr_threshold=0.95) == {"a_times_3", "b"}


def test_stability_over_bootstrap_runs_is_seeded() -> None:
    matrix, names = _matrix()
    first = select_features(matrix, names, variance_threshold=1e-4, corr_threshold=0.95, runs=5, seed=9)
    again = select_features(matrix, names, variance_threshold=1e-4, corr_threshold=0.95, runs=5, seed=9)
    assert first == again
    assert first.selected == ("b", "a_times_3") or set(first.selected) == {"b", "a_times_3"}
    assert first.frequency["constant"] == 0.0 and first.stability == 1.0


def test_permutation_importance_ranks_the_feature_the_score_uses() -> None:
    matrix, names = _matrix()
    importance = permutation_importance(lambda m: np.abs(m[:, 1]), matrix, names, seed=1)
    assert importance["b"] > 0 and importance["a"] == importance["constant"] == 0.0


def test_the_variance_check_reads_only_the_observed_cells() -> None:
    # a feature observed in 2 rows of 100 (imputed to 0 elsewhere): observed values -1 and +1, variance 1;
    # over every cell it is 2/100 = 0.02, below a threshold of 0.5
    sparse = np.zeros(100)
    sparse[:2] = [-1.0, 1.0]
    dense = np.tile([0.0, 2.0], 50)  # variance 1 everywhere
    matrix = np.column_stack([sparse, dense])
    observed = np.ones_like(matrix, dtype=bool)
    observed[2:, 0] = False
    names = ("sparse", "dense")
    assert select_once(matrix, names, variance_threshold=0.5, corr_threshold=0.95) == {"dense"}
    assert select_once(matrix, names, 0.5, 0.95, observed) == {"sparse", "dense"}
    nothing = observed.copy()
    nothing[:, 0] = False  # never observed: variance 0, dropped
    assert select_once(matrix, names, 0.5, 0.95, nothing) == {"dense"}
    assert all_features(matrix, names, observed).variance == {"sparse": 1.0, "dense": 1.0}
