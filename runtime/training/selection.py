"""Feature selection on the preprocessed training matrix: variance, correlation, stability, permutation.

One selection pass: drop features whose variance is below `variance_threshold` (the variance of the
feature's OBSERVED values when the caller passes which cells were observed: imputed cells sit at one value
and would make a mostly-null feature look constant); then walk the rest by
decreasing variance (ties by name) and keep a feature only when its absolute Pearson correlation with
every feature kept so far is at most `corr_threshold`. Stability: the pass runs on `stability_runs`
bootstrap resamples of the rows (numpy Generator seeded with the training seed); a feature is selected
when it is kept in at least half of the runs; the stability score is the mean pairwise Jaccard index of
the runs' selections (1.0 = every run kept the same set). Permutation evaluation (optional, report
only): the mean absolute change of the final model's scores when one feature's column is shuffled.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import combinations

import numpy as np

KEEP_FREQUENCY = 0.5


@dataclass(frozen=True)
class SelectionResult:
    selected: tuple[str, ...]
    frequency: dict[str, float]
    variance: dict[str, float]
    stability: float
    runs: int


def observed_variance(matrix: np.ndarray, observed: np.ndarray | None) -> np.ndarray:
    """Per-column population variance over the observed cells (all cells when `observed` is None; 0 for a
    column with no observed cell)."""
    if observed is None:
        return np.asarray(matrix.var(axis=0), dtype=np.float64)
    count = observed.sum(axis=0)
    safe = np.maximum(count, 1)
    mean = np.where(observed, matrix, 0.0).sum(axis=0) / safe
    return np.where(count > 0, np.where(observed, (matrix - mean) ** 2, 0.0).sum(axis=0) / safe, 0.0)


def select_once(
    matrix: np.ndarray,
    names: tuple[str, ...],
    variance_threshold: float,
    corr_threshold: float,
    observed: np.ndarray | None = None,
) -> set[str]:
    variance = observed_variance(matrix, observed)
    order = sorted(
        (i for i in range(len(names)) if variance[i] >= variance_threshold), key=lambda i: (-variance[i], names[i])
    )
    kept: list[int] = []
    if order:
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = np.nan_to_num(np.corrcoef(matrix[:, order], rowvar=False), nan=0.0)
        corr = np.atleast_2d(corr)
        for pos, _ in enumerate(order):
            if all(abs(corr[pos, k]) <= corr_threshold for k in kept):
                kept.append(pos)
    return {names[order[k]] for k in kept}


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 1.0


def select_features(
    matrix: np.ndarray,
    names: tuple[str, ...],
    *,
    variance_threshold: float,
    corr_threshold: float,
    runs: int,
    seed: int,
    observed: np.ndarray | None = None,
) -> SelectionResult:
    rng = np.random.default_rng(seed)
    n = len(matrix)
    chosen: list[set[str]] = []
    for _ in range(runs):
        rows = rng.integers(0, n, size=n)
        mask = None if observed is None else observed[rows]
        chosen.append(select_once(matrix[rows], names, variance_threshold, corr_threshold, mask))
    frequency = {name: sum(name in c for c in chosen) / runs for name in names}
    selected = tuple(name for name in names if frequency[name] >= KEEP_FREQUENCY)
    pairs = list(combinations(chosen, 2))
    stability = float(np.mean([jaccard(a, b) for a, b in pairs])) if pairs else 1.0
    variance = {name: float(v) for name, v in zip(names, observed_variance(matrix, observed), strict=True)}
    return SelectionResult(selected, frequency, variance, stability, runs)


def all_features(matrix: np.ndarray, names: tuple[str, ...], observed: np.ndarray | None = None) -> SelectionResult:
    variance = {name: float(v) for name, v in zip(names, observed_variance(matrix, observed), strict=True)}
    return SelectionResult(names, dict.fromkeys(names, 1.0), variance, 1.0, 0)


def permutation_importance(
    score: Callable[[np.ndarray], np.ndarray], matrix: np.ndarray, names: tuple[str, ...], seed: int
) -> dict[str, float]:
    """Mean |score(x) - score(x with column j shuffled)| per feature."""
    rng = np.random.default_rng(seed)
    base = score(matrix)
    importance = {}
    for j, name in enumerate(names):
        shuffled = matrix.copy()
        shuffled[:, j] = rng.permutation(shuffled[:, j])
        importance[name] = float(np.mean(np.abs(score(shuffled) - base)))
    return importance
