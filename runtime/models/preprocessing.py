"""Feature preprocessing fitted on the training matrix, stored as JSON numbers, applied identically at scoring.

Per feature, in this order:
1. missing (null, NaN, +-inf) -> the training median of the finite values (0 when a column has none);
2. `outlier_method: iqr` -> clip to Tukey's far fences [q1 - 3 IQR, q3 + 3 IQR] of the training values;
3. scaling: `standard` (x - mean) / (std + eps), `robust` (x - median) / (IQR + eps),
   `minmax` (x - min) / (max - min + eps), `none` (x);
4. `outlier_method: zscore_clip` -> clip the scaled value to [-z_max, z_max].

Every statistic (quartiles, fences, centre, spread) is computed on the OBSERVED (finite) training values
only, never on the imputed matrix: imputation must not shrink the spread. A column that is mostly null (a
feature that needs a baseline, in windows before the first baseline) would otherwise have most rows at the
imputed median, an IQR of 0, a scale of eps, and every observed deviation scaled to +-1e6 and clipped at
z_max, so every host would sit at the same cap. A spread of 0 on the observed values falls back: `robust`
to the observed standard deviation, then (every method) to 1, i.e. the feature keeps its own units.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from runtime.models.options import OUTLIER_METHODS, SCALING_METHODS, PreprocessingOptions

TUKEY_FAR = 3.0
PREPROCESSING_FORMAT = "ndrc-preprocessing/1"


@dataclass(frozen=True)
class Preprocessor:
    features: tuple[str, ...]
    fill: np.ndarray
    clip_low: np.ndarray
    clip_high: np.ndarray
    center: np.ndarray
    scale: np.ndarray
    z_max: float | None

    def transform(self, matrix: np.ndarray) -> np.ndarray:
        x = np.array(matrix, dtype=np.float64, copy=True)
        if x.ndim != 2 or x.shape[1] != len(self.features):
            raise ValueError(f"expected rows of {len(self.features)} features, got shape {x.shape}")
        missing = ~np.isfinite(x)
        x[missing] = np.broadcast_to(self.fill, x.shape)[missing]
        x = np.clip(x, self.clip_low, self.clip_high)
        x = (x - self.center) / self.scale
        if self.z_max is not None:
            x = np.clip(x, -self.z_max, self.z_max)
        return x

    def select(self, names: tuple[str, ...]) -> Preprocessor:
        index = [self.features.index(n) for n in names]
        return Preprocessor(
            names,
            self.fill[index],
            self.clip_low[index],
            self.clip_high[index],
            self.center[index],
            self.scale[index],
            self.z_max,
        )

    def to_dict(self) -> dict[str, Any]:
        def finite_or_none(values: np.ndarray) -> list[float | None]:
            return [float(v) if np.isfinite(v) else None for v in values]

        return {
            "format": PREPROCESSING_FORMAT,
            "features": list(self.features),
            "fill": [float(v) for v in self.fill],
            "clip_low": finite_or_none(self.clip_low),
            "clip_high": finite_or_none(self.clip_high),
            "center": [float(v) for v in self.center],
            "scale": [float(v) for v in self.scale],
            "z_max": self.z_max,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Preprocessor:
        if data.get("format") != PREPROCESSING_FORMAT:
            raise ValueError(f"unknown preprocessing format {data.get('format')!r}")
        features = tuple(str(f) for f in data["features"])

        def column(key: str, missing: float) -> np.ndarray:
            values = np.array([missing if v is None else float(v) for v in data[key]], dtype=np.float64)
            if len(values) != len(features):
                raise ValueError(f"preprocessing {key!r} has {len(values)} values for {len(features)} features")
            return values

        scale = column("scale", 1.0)
        if np.any(scale <= 0):
            raise ValueError("preprocessing scale values must be positive")
        z_max = data.get("z_max")
        return cls(
            features,
            column("fill", 0.0),
            column("clip_low", -np.inf),
            column("clip_high", np.inf),
            column("center", 0.0),
            scale,
            None if z_max is None else float(z_max),
        )


def _positive_or_one(spread: float) -> float:
    return float(spread) if np.isfinite(spread) and spread > 0 else 1.0


def fit_preprocessor(matrix: np.ndarray, features: tuple[str, ...], options: PreprocessingOptions) -> Preprocessor:
    if options.scaling_method not in SCALING_METHODS:
        raise ValueError(f"unknown scaling_method {options.scaling_method!r} (one of {', '.join(SCALING_METHODS)})")
    if options.outlier_method not in OUTLIER_METHODS:
        raise ValueError(f"unknown outlier_method {options.outlier_method!r} (one of {', '.join(OUTLIER_METHODS)})")
    x = np.array(matrix, dtype=np.float64, copy=True)
    if x.ndim != 2 or x.shape[1] != len(features):
        raise ValueError(f"expected rows of {len(features)} features, got shape {x.shape}")
    n = len(features)
    fill, center, scale = np.zeros(n), np.zeros(n), np.ones(n)
    clip_low, clip_high = np.full(n, -np.inf), np.full(n, np.inf)
    eps = options.eps
    for j in range(n):
        observed = x[:, j][np.isfinite(x[:, j])]
        if not len(observed):  # nothing observed: fill 0, no fences, centre 0, the spread falls back to 1
            scale[j] = 1.0 if options.scaling_method == "none" else 1.0 + eps
            continue
        fill[j] = float(np.median(observed))
        if options.outlier_method == "iqr":
            q1, q3 = np.percentile(observed, [25, 75])
            clip_low[j], clip_high[j] = q1 - TUKEY_FAR * (q3 - q1), q3 + TUKEY_FAR * (q3 - q1)
            observed = np.clip(observed, clip_low[j], clip_high[j])
        if options.scaling_method == "standard":
            center[j], scale[j] = observed.mean(), _positive_or_one(observed.std()) + eps
        elif options.scaling_method == "robust":
            q1, q3 = np.percentile(observed, [25, 75])
            spread = q3 - q1 if q3 > q1 else observed.std()
            center[j], scale[j] = float(np.median(observed)), _positive_or_one(spread) + eps
        elif options.scaling_method == "minmax":
            low, high = observed.min(), observed.max()
            center[j], scale[j] = low, _positive_or_one(high - low) + eps
    z_max = options.z_max if options.outlier_method == "zscore_clip" else None
    return Preprocessor(features, fill, clip_low, clip_high, center, scale, z_max)
