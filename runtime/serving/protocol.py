"""What the model server serves: a `ScoringModel` (the runtime contract shared with `if_training`).

Copied verbatim from the contract; `runtime/models/scoring.py` (training helper) defines the same Protocol
and `load_model_artifact`, which plugs into `ModelLoader` unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol


class ScoringModel(Protocol):
    model_version: str
    feature_names: tuple[str, ...]

    def score(self, rows: Sequence[Sequence[float | None]]) -> list[float]: ...

    # one anomaly score per row, rows in feature_names order; HIGHER = MORE anomalous


ModelLoader = Callable[[Path], ScoringModel]
"""`load_model_artifact(path)`: path is an extracted model.tar.gz directory."""
