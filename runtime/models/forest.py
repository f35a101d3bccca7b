"""An Isolation Forest as plain JSON data, and its scoring in numpy (no scikit-learn, no pickle).

`forest_to_dict` dumps a fitted `sklearn.ensemble.IsolationForest`: per tree the node arrays
(children, feature, threshold) and, per node, the path length a sample reaching it as a leaf gets
(`depth + c(n_node_samples)`, c = average unsuccessful-search path length of a BST, as in Liu et al.
2008). `ForestScorer` replays `IsolationForest.score_samples` from that data: inputs are cast to
float32 exactly as scikit-learn's trees do before comparing with the thresholds, so every sample
reaches the same leaf and the scores agree to float64 rounding (tests compare them at 1e-12 relative).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

FOREST_FORMAT = "ndrc-isolation-forest/1"
EULER_GAMMA = 0.5772156649015329
LEAF = -1


def average_path_length(n: np.ndarray) -> np.ndarray:
    """c(n): 0 for n <= 1, 1 for n == 2, else 2 (ln(n-1) + gamma) - 2 (n-1)/n (scikit-learn's formula)."""
    n = np.asarray(n, dtype=np.float64)
    out = np.zeros_like(n)
    two = n == 2
    big = n > 2
    out[two] = 1.0
    out[big] = 2.0 * (np.log(n[big] - 1.0) + EULER_GAMMA) - 2.0 * (n[big] - 1.0) / n[big]
    return out


def _node_depths(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    depth = np.zeros(len(left), dtype=np.int64)
    for node in range(len(left)):  # children always have larger ids than their parent
        if left[node] != LEAF:
            depth[left[node]] = depth[node] + 1
            depth[right[node]] = depth[node] + 1
    return depth


def forest_to_dict(forest: Any) -> dict[str, Any]:
    """The fitted forest's trees as JSON-ready lists (ints and float64 values that round-trip exactly)."""
    trees = []
    for estimator, features in zip(forest.estimators_, forest.estimators_features_, strict=True):
        tree = estimator.tree_
        left = tree.children_left.astype(np.int64)
        right = tree.children_right.astype(np.int64)
        leaf_path = _node_depths(left, right) + average_path_length(tree.n_node_samples)
        trees.append(
            {
                "features": [int(f) for f in features],
                "children_left": left.tolist(),
                "children_right": right.tolist(),
                "feature": [int(f) if f >= 0 else LEAF for f in tree.feature],
                "threshold": [float(t) if left[i] != LEAF else 0.0 for i, t in enumerate(tree.threshold)],
                "leaf_path_length": [float(v) if left[i] == LEAF else 0.0 for i, v in enumerate(leaf_path)],
            }
        )
    return {"format": FOREST_FORMAT, "max_samples": int(forest.max_samples_), "trees": trees}


@dataclass(frozen=True)
class _Tree:
    features: np.ndarray
    left: np.ndarray
    right: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    leaf_path_length: np.ndarray
    max_depth: int


class ForestError(ValueError):
    """The forest data is malformed (wrong format, inconsistent arrays, out-of-range indexes)."""


def _tree_from_dict(raw: Mapping[str, Any], n_features: int, where: str) -> _Tree:
    try:
        features = np.asarray(raw["features"], dtype=np.int64)
        left = np.asarray(raw["children_left"], dtype=np.int64)
        right = np.asarray(raw["children_right"], dtype=np.int64)
        feature = np.asarray(raw["feature"], dtype=np.int64)
        threshold = np.asarray(raw["threshold"], dtype=np.float64)
        leaf_path = np.asarray(raw["leaf_path_length"], dtype=np.float64)
    except (KeyError, TypeError, ValueError) as err:
        raise ForestError(f"{where}: {err}") from err
    n = len(left)
    if n == 0 or not all(len(a) == n for a in (right, feature, threshold, leaf_path)):
        raise ForestError(f"{where}: node arrays differ in length or are empty")
    inner = left != LEAF
    if np.any(features < 0) or np.any(features >= n_features):
        raise ForestError(f"{where}: a feature index is outside 0..{n_features - 1}")
    ids = np.arange(n)
    if np.any(inner & ((left <= ids) | (right <= ids) | (left >= n) | (right >= n))):
        raise ForestError(f"{where}: a child index is not after its parent or out of range")
    if np.any(inner & ((feature < 0) | (feature >= len(features)))):
        raise ForestError(f"{where}: a split feature is outside the tree's feature subset")
    depth = int(_node_depths(left, right).max())
    return _Tree(features, left, right, feature, threshold, leaf_path, depth)


class ForestScorer:
    """Anomaly scores 2^(-E[h(x)] / c(max_samples)) in (0, 1]: higher is more anomalous."""

    def __init__(self, data: Mapping[str, Any], n_features: int) -> None:
        if data.get("format") != FOREST_FORMAT:
            raise ForestError(f"unknown forest format {data.get('format')!r} (expected {FOREST_FORMAT!r})")
        trees = data.get("trees")
        if not isinstance(trees, list) or not trees:
            raise ForestError("the forest has no trees")
        self.trees = [_tree_from_dict(t, n_features, f"tree {i}") for i, t in enumerate(trees)]
        self.max_samples = int(data["max_samples"])
        self.n_features = n_features

    def score(self, matrix: np.ndarray) -> np.ndarray:
        x = np.asarray(matrix, dtype=np.float32)  # scikit-learn's trees compare float32 inputs
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise ForestError(f"expected rows of {self.n_features} features, got shape {x.shape}")
        depths = np.zeros(len(x), dtype=np.float64)
        rows = np.arange(len(x))
        for tree in self.trees:
            sub = x[:, tree.features]
            node = np.zeros(len(x), dtype=np.int64)
            for _ in range(tree.max_depth):
                inner = tree.left[node] != LEAF
                if not inner.any():
                    break
                values = sub[rows, np.where(inner, tree.feature[node], 0)]
                go_left = values <= tree.threshold[node]
                node = np.where(inner, np.where(go_left, tree.left[node], tree.right[node]), node)
            depths += tree.leaf_path_length[node]
        denominator = len(self.trees) * float(average_path_length(np.array([self.max_samples]))[0])
        mean = depths / denominator if denominator else np.ones_like(depths)
        return np.asarray(np.power(2.0, -mean), dtype=np.float64)


def forest_scores(data: Mapping[str, Any], rows: Sequence[Sequence[float]], n_features: int) -> list[float]:
    return [float(v) for v in ForestScorer(data, n_features).score(np.asarray(rows, dtype=np.float64))]
