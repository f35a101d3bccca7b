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


@dataclass(frozen=True)
class _FlatForest:
    """Every tree's nodes in one set of arrays, numbered level by level so that an inner node's right
    child is its left child + 1: one step is `node = left[node] + (value > threshold[node])`. A leaf is
    its own left child with an infinite threshold, so a fixed number of steps (the deepest tree's depth)
    lands every (row, tree) on its leaf. Split features are global column indexes.

    Thresholds are float32, rounded down from scikit-learn's float64: for a float32 value x and a float64
    t, `x <= t` exactly when `x <= (the largest float32 <= t)`, so the comparison stays exact."""

    roots: np.ndarray  # (trees,)
    left: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray  # float32
    leaf_path_length: np.ndarray
    steps: int


def float32_at_most(values: np.ndarray) -> np.ndarray:
    rounded = values.astype(np.float32)
    above = rounded.astype(np.float64) > values
    rounded[above] = np.nextafter(rounded[above], np.float32(-np.inf))
    return rounded


def _flatten(trees: Sequence[_Tree]) -> _FlatForest:
    sizes = np.array([len(t.left) for t in trees], dtype=np.intp)
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.intp)
    inner = np.concatenate([t.left != LEAF for t in trees])
    left = np.concatenate([np.where(t.left != LEAF, t.left + o, LEAF) for t, o in zip(trees, offsets, strict=True)])
    right = np.concatenate([np.where(t.left != LEAF, t.right + o, LEAF) for t, o in zip(trees, offsets, strict=True)])
    feature = np.concatenate([t.features[np.where(t.left != LEAF, t.feature, 0)] for t in trees])
    threshold = np.concatenate([t.threshold for t in trees])
    leaf_path = np.concatenate([t.leaf_path_length for t in trees])
    # Breadth-first over all trees at once: `order[new] = old`, `new_id[old] = new`.
    new_id = np.full(len(left), LEAF, dtype=np.intp)
    new_id[offsets] = np.arange(len(trees))
    levels = [offsets]
    frontier = offsets
    while frontier.size:
        parents = frontier[inner[frontier]]
        children = np.empty(2 * len(parents), dtype=np.intp)
        children[0::2] = left[parents]
        children[1::2] = right[parents]
        start = sum(len(level) for level in levels)
        new_id[children] = start + np.arange(len(children))
        levels.append(children)
        frontier = children
    order = np.concatenate(levels)
    is_inner = inner[order]
    return _FlatForest(
        roots=np.arange(len(trees), dtype=np.intp),
        left=np.where(is_inner, new_id[np.where(is_inner, left[order], 0)], np.arange(len(order))).astype(np.intp),
        feature=np.where(is_inner, feature[order], 0).astype(np.intp),
        threshold=np.where(is_inner, float32_at_most(threshold[order]), np.float32(np.inf)).astype(np.float32),
        leaf_path_length=leaf_path[order],
        steps=max(t.max_depth for t in trees),
    )


class ForestScorer:
    """Anomaly scores 2^(-E[h(x)] / c(max_samples)) in (0, 1]: higher is more anomalous.

    Scoring walks all trees at once, `ROW_CHUNK` rows at a time: a (rows, trees) array of node indexes
    takes one vectorised step per level (gather the split value, compare, pick the child)."""

    ROW_CHUNK = 512

    def __init__(self, data: Mapping[str, Any], n_features: int) -> None:
        if data.get("format") != FOREST_FORMAT:
            raise ForestError(f"unknown forest format {data.get('format')!r} (expected {FOREST_FORMAT!r})")
        trees = data.get("trees")
        if not isinstance(trees, list) or not trees:
            raise ForestError("the forest has no trees")
        self.trees = [_tree_from_dict(t, n_features, f"tree {i}") for i, t in enumerate(trees)]
        self.flat = _flatten(self.trees)
        self.max_samples = int(data["max_samples"])
        self.n_features = n_features

    def score(self, matrix: np.ndarray) -> np.ndarray:
        x = np.asarray(matrix, dtype=np.float32)  # scikit-learn's trees compare float32 inputs
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise ForestError(f"expected rows of {self.n_features} features, got shape {x.shape}")
        if np.isnan(x).any():  # the preprocessing imputes them; scikit-learn's per-node NaN routing is not kept
            raise ForestError("missing values (NaN) reach the forest only after imputation")
        depths = np.empty(len(x), dtype=np.float64)
        for start in range(0, len(x), self.ROW_CHUNK):
            depths[start : start + self.ROW_CHUNK] = self._path_length_sums(x[start : start + self.ROW_CHUNK])
        denominator = len(self.trees) * float(average_path_length(np.array([self.max_samples]))[0])
        mean = depths / denominator if denominator else np.ones_like(depths)
        return np.asarray(np.power(2.0, -mean), dtype=np.float64)

    def _path_length_sums(self, x: np.ndarray) -> np.ndarray:
        flat = self.flat
        values = x.ravel()
        row_starts = (np.arange(len(x), dtype=np.intp) * x.shape[1])[:, None]
        node = np.broadcast_to(flat.roots, (len(x), len(flat.roots))).copy()
        column, child = np.empty(node.shape, dtype=np.intp), np.empty(node.shape, dtype=np.intp)
        value, threshold = np.empty(node.shape, dtype=np.float32), np.empty(node.shape, dtype=np.float32)
        go_right = np.empty(node.shape, dtype=np.bool_)
        for _ in range(flat.steps):  # np.take with out= buffers: no allocation per step
            np.take(flat.feature, node, out=column)
            column += row_starts
            np.take(values, column, out=value)
            np.take(flat.threshold, node, out=threshold)
            np.greater(value, threshold, out=go_right)
            np.take(flat.left, node, out=child)
            np.add(child, go_right, out=node)
        return np.asarray(flat.leaf_path_length[node].sum(axis=1), dtype=np.float64)
