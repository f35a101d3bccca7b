"""Bounded, seeded hyperparameter search for the Isolation Forest, with an unsupervised objective.

Rows are shuffled with the seed and split 80/20 into fit and validation parts. A trial fits the forest
with the seed and with seed + 1 on the fit part and scores the validation part (score = -score_samples,
higher = more anomalous; q = the trial's contamination):
- score_separation = s / (1 + s), s = (mean of the top-q validation scores - median) / std: how far the
  flagged tail stands from the bulk, squashed into [0, 1);
- stability = Spearman correlation of the two seeds' validation scores: the ranking does not hinge on
  the random trees;
- alert_rate_penalty = |share of validation scores above the fit part's (1 - q) quantile - q| / q:
  the threshold chosen on training data flags the expected share of unseen rows.
objective = w_sep * score_separation + w_stab * stability - w_pen * alert_rate_penalty (maximised).

Methods: `grid` (evenly spaced values per dimension, cartesian product in order, first max_trials),
`random` (uniform draws from the seeded generator), `bayesian` (the first min(5, max_trials) trials
random, then each next point maximises expected improvement under a Gaussian process fitted to the
trials so far, over 256 seeded random candidates). No new trial starts after `timeout_seconds`; when
every trial finishes in time, the same seed and data give the same trials and the same best point.
"""

from __future__ import annotations

import itertools
import math
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from runtime.jobs.if_training.spec import Hyperparameters, SearchDimension, TuningOptions

VALIDATION_SHARE = 0.2
INITIAL_RANDOM_TRIALS = 5
CANDIDATES = 256


@dataclass(frozen=True)
class Trial:
    number: int
    params: dict[str, Any]
    metrics: dict[str, float]
    seconds: float = field(compare=False)


@dataclass(frozen=True)
class TuningResult:
    trials: tuple[Trial, ...]
    best: Trial
    stopped_by_timeout: bool


def isolation_forest(params: Mapping[str, Any], seed: int) -> Any:
    from sklearn.ensemble import IsolationForest

    return IsolationForest(
        n_estimators=int(params["n_estimators"]),
        max_samples=params["max_samples"],
        contamination=float(params["contamination"]),
        max_features=float(params["max_features"]),
        random_state=seed,
        n_jobs=1,
    )


def bounded_params(params: Mapping[str, Any], n_rows: int) -> dict[str, Any]:
    """max_samples as a count no larger than the rows (scikit-learn would warn and clamp)."""
    out = dict(params)
    max_samples = out["max_samples"]
    if max_samples == "auto":
        max_samples = min(256, n_rows)
    elif isinstance(max_samples, float) and max_samples <= 1.0:
        max_samples = max(1, int(max_samples * n_rows))
    out["max_samples"] = int(min(int(max_samples), n_rows))
    return out


def split_rows(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.random.default_rng(seed).permutation(n)
    n_val = max(1, round(n * VALIDATION_SHARE)) if n > 1 else 0
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def evaluate(
    params: Mapping[str, Any], fit: np.ndarray, val: np.ndarray, seed: int, weights: Mapping[str, float]
) -> dict[str, float]:
    from scipy.stats import spearmanr

    q = float(params["contamination"])
    first = isolation_forest(params, seed).fit(fit)
    second = isolation_forest(params, seed + 1).fit(fit)
    threshold = float(np.quantile(-first.score_samples(fit), 1.0 - q))
    scores = -first.score_samples(val)
    other = -second.score_samples(val)
    top = scores >= np.quantile(scores, 1.0 - q)
    spread = float(scores.std())
    s = (float(scores[top].mean()) - float(np.median(scores))) / spread if spread > 0 else 0.0
    separation = max(0.0, s) / (1.0 + max(0.0, s))
    rho = spearmanr(scores, other).statistic if spread > 0 and other.std() > 0 else 1.0
    stability = float(0.0 if math.isnan(rho) else rho)
    alert_rate = float(np.mean(scores > threshold))
    penalty = abs(alert_rate - q) / q
    objective = (
        weights.get("score_separation", 0.0) * separation
        + weights.get("stability", 0.0) * stability
        - weights.get("alert_rate_penalty", 0.0) * penalty
    )
    return {
        "score_separation": separation,
        "stability": stability,
        "alert_rate": alert_rate,
        "alert_rate_penalty": penalty,
        "threshold": threshold,
        "objective": float(objective),
    }


def _value(dim: SearchDimension, unit: float) -> float | int:
    raw = dim.low + unit * (dim.high - dim.low)
    return round(raw) if dim.integer else float(raw)


def _grid(dims: tuple[SearchDimension, ...], max_trials: int) -> list[dict[str, Any]]:
    per_dim = max(1, math.ceil(max_trials ** (1.0 / len(dims))))
    axes = []
    for dim in dims:
        units = [i / (per_dim - 1) for i in range(per_dim)] if per_dim > 1 else [0.5]
        axes.append(list(dict.fromkeys(_value(dim, u) for u in units)))
    points = [dict(zip([d.name for d in dims], combo, strict=True)) for combo in itertools.product(*axes)]
    return points[:max_trials]


def _expected_improvement(units: np.ndarray, values: np.ndarray, candidates: np.ndarray, seed: int) -> np.ndarray:
    from scipy.stats import norm
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import Matern, WhiteKernel

    gp = GaussianProcessRegressor(Matern(nu=2.5) + WhiteKernel(1e-3), normalize_y=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gp.fit(units, values)
    mean, std = gp.predict(candidates, return_std=True)
    best = values.max()
    std = np.maximum(std, 1e-12)
    z = (mean - best) / std
    return np.asarray((mean - best) * norm.cdf(z) + std * norm.pdf(z))


def tune(
    options: TuningOptions,
    base: Hyperparameters,
    matrix: np.ndarray,
    seed: int,
    on_trial: Callable[[Trial], None] = lambda trial: None,
    clock: Callable[[], float] = time.monotonic,
) -> TuningResult:
    fit_idx, val_idx = split_rows(len(matrix), seed)
    fit, val = matrix[fit_idx], matrix[val_idx]
    dims = options.search_space
    rng = np.random.default_rng(seed)
    budget = options.max_trials if dims else 1
    grid = _grid(dims, budget) if dims and options.method == "grid" else None
    started = clock()
    trials: list[Trial] = []
    units_seen: list[np.ndarray] = []
    stopped = False
    for number in range(len(grid) if grid is not None else budget):
        if trials and clock() - started >= options.timeout_seconds:
            stopped = True
            break
        point: dict[str, Any] = {}
        if grid is not None:
            point = grid[number]
        elif dims:
            if options.method == "bayesian" and number >= INITIAL_RANDOM_TRIALS:
                candidates = rng.random((CANDIDATES, len(dims)))
                values = np.array([t.metrics["objective"] for t in trials])
                unit = candidates[int(np.argmax(_expected_improvement(np.array(units_seen), values, candidates, seed)))]
            else:
                unit = rng.random(len(dims))
            units_seen.append(unit)
            point = {d.name: _value(d, float(u)) for d, u in zip(dims, unit, strict=True)}
        params = bounded_params({**base.as_dict(), **point}, len(fit))
        begun = clock()
        metrics = evaluate(params, fit, val, seed, options.objective_weights)
        trial = Trial(number, params, metrics, clock() - begun)
        trials.append(trial)
        on_trial(trial)
    best = max(trials, key=lambda t: (t.metrics["objective"], -t.number))
    return TuningResult(tuple(trials), best, stopped)
