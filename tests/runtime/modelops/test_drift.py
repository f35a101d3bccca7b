"""PSI against a training histogram, checked with hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from runtime.modelops.drift import SHARE_FLOOR, Histogram, bin_shares, feature_psi, psi, reference_histogram

HALVES = Histogram(edges=(0.0,), shares=(0.5, 0.5), missing_share=0.0)


def test_psi_of_a_shift_from_halves_to_quarters() -> None:
    # a = (0.25, 0.75), e = (0.5, 0.5), the missing bin empty on both sides (floored: contributes 0)
    expected = (0.25 - 0.5) * math.log(0.25 / 0.5) + (0.75 - 0.5) * math.log(0.75 / 0.5)
    assert expected == pytest.approx(0.2746530721670274, rel=1e-15)
    assert psi(HALVES, np.array([-1.0, 1.0, 2.0, 3.0])) == pytest.approx(expected, rel=1e-12)


def test_missing_values_are_a_bin_of_their_own_with_floored_empty_shares() -> None:
    values = np.array([-1.0, np.nan, 1.0, np.inf])  # a = (0.25, 0.25), missing 0.5 (NaN and inf)
    expected = (
        (0.25 - 0.5) * math.log(0.25 / 0.5)
        + (0.25 - 0.5) * math.log(0.25 / 0.5)
        + (0.5 - SHARE_FLOOR) * math.log(0.5 / SHARE_FLOOR)
    )
    assert psi(HALVES, values) == pytest.approx(expected, rel=1e-12)


def test_the_same_distribution_has_zero_psi_and_edges_belong_to_the_lower_bin() -> None:
    assert psi(HALVES, np.array([-3.0, 0.0, 0.5, 7.0])) == 0.0  # 0.0 sits on the edge: lower bin
    shares, missing = bin_shares(np.array([0.0, 0.0, 1e-300]), (0.0,))
    assert shares.tolist() == [2 / 3, 1 / 3] and missing == 0.0


def test_reference_histogram_uses_the_training_deciles() -> None:
    histogram = reference_histogram(np.arange(1.0, 101.0))  # deciles 10.9, 20.8, ... (linear interpolation)
    assert histogram.edges == pytest.approx([10.9, 20.8, 30.7, 40.6, 50.5, 60.4, 70.3, 80.2, 90.1], rel=1e-15)
    assert histogram.shares == pytest.approx([0.1] * 10, rel=1e-15) and histogram.missing_share == 0.0
    constant = reference_histogram(np.array([0.0, 0.0, np.nan, 0.0]))
    assert constant.edges == (0.0,) and constant.shares == (0.75, 0.0) and constant.missing_share == 0.25
    assert Histogram.from_dict(histogram.to_dict()) == histogram
    with pytest.raises(ValueError, match="increasing distinct edges"):
        Histogram.from_dict({"edges": [1.0, 0.0], "shares": [0.2, 0.3, 0.5], "missing_share": 0.0})


def test_feature_psi_covers_the_features_on_both_sides() -> None:
    reference = {"a": HALVES.to_dict(), "gone": HALVES.to_dict()}
    found = feature_psi(reference, {"a": np.array([1.0, 1.0]), "new": np.array([0.0])})
    a = (SHARE_FLOOR - 0.5) * math.log(SHARE_FLOOR / 0.5) + (1.0 - 0.5) * math.log(1.0 / 0.5)
    assert list(found) == ["a"] and found["a"] == pytest.approx(a, rel=1e-12)
