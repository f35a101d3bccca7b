from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from runtime.training.window import TrainingWindow, months_before, reference_time


@pytest.mark.parametrize(
    ("moment", "months", "expected"),
    [
        (datetime(2025, 6, 15, 10, 8, tzinfo=UTC), 1, datetime(2025, 5, 15, 10, 8, tzinfo=UTC)),
        (datetime(2025, 3, 31, tzinfo=UTC), 1, datetime(2025, 2, 28, tzinfo=UTC)),  # clamped to the month's end
        (datetime(2024, 3, 31, tzinfo=UTC), 1, datetime(2024, 2, 29, tzinfo=UTC)),  # leap year
        (datetime(2025, 2, 10, tzinfo=UTC), 4, datetime(2024, 10, 10, tzinfo=UTC)),  # across the year
        (datetime(2025, 1, 1, tzinfo=UTC), 0, datetime(2025, 1, 1, tzinfo=UTC)),
    ],
)
def test_months_before(moment: datetime, months: int, expected: datetime) -> None:
    assert months_before(moment, months) == expected


def test_window_is_lookback_months_ending_gap_months_before_the_reference() -> None:
    window = TrainingWindow.before(datetime(2025, 6, 1, tzinfo=UTC), lookback_months=4, gap_months=1)
    assert (window.start, window.end) == (datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 5, 1, tzinfo=UTC))
    days = window.dates()
    assert days[0] == date(2025, 1, 1) and days[-1] == date(2025, 4, 30) and len(days) == 120
    assert window.holds_date("2025-04-30") and not window.holds_date("2025-05-01")
    assert not window.holds_date("2024-12-31") and not window.holds_date("junk")


def test_an_unset_reference_is_the_start_of_the_utc_day() -> None:
    now = datetime(2025, 6, 1, 17, 45, 3, tzinfo=UTC)
    assert reference_time(None, now) == datetime(2025, 6, 1, tzinfo=UTC)
    assert reference_time("2025-06-01T02:00:00+02:00") == datetime(2025, 6, 1, tzinfo=UTC)
