from __future__ import annotations

import itertools

import numpy as np
import pytest

from runtime.jobs.if_training.spec import Hyperparameters, SearchDimension, TuningOptions
from runtime.jobs.if_training.tuning import tune

SPACE = (SearchDimension("n_estimators", 20, 60), SearchDimension("contamination", 0.01, 0.05))


def _matrix() -> np.ndarray:
    rng = np.random.default_rng(4)
    return np.vstack([rng.normal(size=(300, 3)), rng.normal(6, 1, size=(5, 3))])


@pytest.mark.parametrize("method", ["random", "grid", "bayesian"])
def test_the_same_seed_gives_the_same_trials(method: str) -> None:
    options = TuningOptions(method=method, max_trials=6, timeout_seconds=3600, search_space=SPACE)
    first = tune(options, Hyperparameters(max_samples=64), _matrix(), seed=5)
    again = tune(options, Hyperparameters(max_samples=64), _matrix(), seed=5)
    assert first.trials == again.trials and first.best == again.best and len(first.trials) == 6
    for trial in first.trials:
        assert 20 <= trial.params["n_estimators"] <= 60 and 0.01 <= trial.params["contamination"] <= 0.05
    assert first.best.metrics["objective"] == max(t.metrics["objective"] for t in first.trials)


def test_grid_points_are_evenly_spaced() -> None:
    options = TuningOptions(method="grid", max_trials=4, timeout_seconds=3600, search_space=SPACE)
    result = tune(options, Hyperparameters(max_samples=64), _matrix(), seed=5)
    assert [(t.params["n_estimators"], t.params["contamination"]) for t in result.trials] == [
        (20, 0.01),
        (20, 0.05),
        (60, 0.01),
        (60, 0.05),
    ]


def test_no_trial_starts_after_the_timeout() -> None:
    ticks = itertools.count(step=10.0)
    options = TuningOptions(method="random", max_trials=5, timeout_seconds=15, search_space=SPACE)
    result = tune(options, Hyperparameters(max_samples=64), _matrix(), seed=5, clock=lambda: next(ticks))
    assert result.stopped_by_timeout and len(result.trials) == 1
