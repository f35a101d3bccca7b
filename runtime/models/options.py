"""Preprocessing options as plain data (no numpy), so specs parse without the numeric stack."""

from __future__ import annotations

from dataclasses import dataclass

SCALING_METHODS = ("standard", "robust", "minmax", "none")
OUTLIER_METHODS = ("zscore_clip", "iqr", "none")


@dataclass(frozen=True)
class PreprocessingOptions:
    eps: float = 1e-6
    scaling_method: str = "robust"
    outlier_method: str = "zscore_clip"
    z_max: float = 6.0
