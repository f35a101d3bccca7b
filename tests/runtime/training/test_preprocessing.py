"""Preprocessing recomputed independently with pandas (1e-12 relative): every statistic on the observed
(finite) values, pandas' NaN-skipping quantile/median/mean/std, then applied to the median-filled frame."""

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
    iqr = frame.quantile(0.75) - frame.quantile(0.25)
    expected = ((filled - frame.median()) / (iqr + 1e-6)).clip(-4.0, 4.0)
    np.testing.assert_allclose(ours, expected.to_numpy(), rtol=1e-12)


@pytest.mark.parametrize("scaling", ["standard", "minmax", "none"])
def test_iqr_fences_then_scaling_match_pandas(scaling: str) -> None:
    raw = _data()
    options = PreprocessingOptions(eps=1e-6, scaling_method=scaling, outlier_method="iqr")
    fitted = fit_preprocessor(raw, NAMES, options)
    frame = pd.DataFrame(raw, columns=list(NAMES)).replace([np.inf, -np.inf], np.nan)
    q1, q3 = frame.quantile(0.25), frame.quantile(0.75)
    observed = frame.clip(q1 - 3 * (q3 - q1), q3 + 3 * (q3 - q1), axis=1)
    clipped = frame.fillna(frame.median()).clip(q1 - 3 * (q3 - q1), q3 + 3 * (q3 - q1), axis=1)
    if scaling == "standard":
        expected = (clipped - observed.mean()) / (observed.std(ddof=0) + 1e-6)
    elif scaling == "minmax":
        expected = (clipped - observed.min()) / (observed.max() - observed.min() + 1e-6)
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


def test_imputation_does_not_shrink_the_spread_of_a_mostly_null_column() -> None:
    # 8 of 11 rows null (windows before any baseline): the observed values 1, 2, 3, 4 ... only rows 0-3
    raw = np.array([[1.0], [2.0], [3.0], [4.0]] + [[np.nan]] * 7)
    fitted = fit_preprocessor(raw, ("dev",), PreprocessingOptions(eps=0.0, scaling_method="robust", z_max=6.0))
    # observed median 2.5, quartiles 1.75 and 3.25 (linear interpolation): IQR 1.5, not the filled matrix's 0
    assert (fitted.fill[0], fitted.center[0], fitted.scale[0]) == (2.5, 2.5, 1.5)
    np.testing.assert_allclose(fitted.transform(np.array([[4.0], [np.nan], [100.0]]))[:, 0], [1.0, 0.0, 6.0])


@pytest.mark.parametrize(
    ("scaling", "scale"),
    [
        # observed 5, 5, 5, 5, 9: quartiles both 5 -> the std of the observed values, sqrt(mean((x - 5.8)^2)) = 1.6
        ("robust", 1.6),
        ("standard", 1.6),
        ("minmax", 4.0),
    ],
)
def test_a_zero_iqr_falls_back_to_the_observed_std(scaling: str, scale: float) -> None:
    raw = np.array([[5.0], [5.0], [5.0], [5.0], [9.0], [np.nan]])
    fitted = fit_preprocessor(raw, ("x",), PreprocessingOptions(eps=0.0, scaling_method=scaling, outlier_method="none"))
    assert fitted.scale[0] == pytest.approx(scale, rel=1e-12)


@pytest.mark.parametrize("scaling", ["robust", "standard", "minmax"])
def test_a_constant_or_unobserved_column_keeps_its_units(scaling: str) -> None:
    raw = np.array([[3.0, np.nan], [3.0, np.inf], [3.0, np.nan]])
    fitted = fit_preprocessor(raw, ("flat", "none"), PreprocessingOptions(eps=1e-6, scaling_method=scaling))
    np.testing.assert_array_equal(fitted.scale, [1.0 + 1e-6, 1.0 + 1e-6])
    assert list(fitted.fill) == [3.0, 0.0]
    np.testing.assert_allclose(
        fitted.transform(np.array([[4.0, 2.0]])),
        [[(4.0 - fitted.center[0]) / (1 + 1e-6), 2.0 / (1 + 1e-6)]],
        rtol=1e-12,
    )
