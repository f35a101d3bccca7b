"""Preprocessing recomputed independently with pandas (1e-12 relative)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from runtime.models.options import PreprocessingOptions
from runtime.models.preprocessing import Preprocessor, fit_preprocessor

NAMES = ("x", "y")


def _data() -> np.ndarray:
    rng = np.random.default_rng(1)
    raw = rng.lognormal(2, 1, size=(500, 2))
    raw[3, 0], raw[7, 1], raw[9, 1] = np.nan, np.inf, 1e9
    return raw


def test_robust_scaling_with_zscore_clip_matches_pandas() -> None:
    raw = _data()
    options = PreprocessingOptions(eps=1e-6, scaling_method="robust", outlier_method="zscore_clip", z_max=4.0)
    ours = fit_preprocessor(raw, NAMES, options).transform(raw)
    frame = pd.DataFrame(raw, columns=list(NAMES)).replace([np.inf, -np.inf], np.nan)
    filled = frame.fillna(frame.median())
    iqr = filled.quantile(0.75) - filled.quantile(0.25)
    expected = ((filled - filled.median()) / (iqr + 1e-6)).clip(-4.0, 4.0)
    np.testing.assert_allclose(ours, expected.to_numpy(), rtol=1e-12)


@pytest.mark.parametrize("scaling", ["standard", "minmax", "none"])
def test_iqr_fences_then_scaling_match_pandas(scaling: str) -> None:
    raw = _data()
    options = PreprocessingOptions(eps=1e-6, scaling_method=scaling, outlier_method="iqr")
    fitted = fit_preprocessor(raw, NAMES, options)
    frame = pd.DataFrame(raw, columns=list(NAMES)).replace([np.inf, -np.inf], np.nan)
    filled = frame.fillna(frame.median())
    q1, q3 = filled.quantile(0.25), filled.quantile(0.75)
    clipped = filled.clip(q1 - 3 * (q3 - q1), q3 + 3 * (q3 - q1), axis=1)
    if scaling == "standard":
        expected = (clipped - clipped.mean()) / (clipped.std(ddof=0) + 1e-6)
    elif scaling == "minmax":
        expected = (clipped - clipped.min()) / (clipped.max() - clipped.min() + 1e-6)
    else:
        expected = clipped
    np.testing.assert_allclose(fitted.transform(raw), expected.to_numpy(), rtol=1e-12, atol=1e-12)
    assert fitted.z_max is None


def test_round_trip_through_json_and_column_selection() -> None:
    raw = _data()
    fitted = fit_preprocessor(raw, NAMES, PreprocessingOptions())
    again = Preprocessor.from_dict(fitted.to_dict())
    np.testing.assert_array_equal(again.transform(raw), fitted.transform(raw))
    np.testing.assert_array_equal(fitted.select(("y",)).transform(raw[:, [1]]), fitted.transform(raw)[:, [1]])
    with pytest.raises(ValueError, match="scale values must be positive"):
        Preprocessor.from_dict({**fitted.to_dict(), "scale": [0.0, 1.0]})
