"""The cron-floor window policy, hand-computed across hour, day, month, year and leap-day boundaries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runtime.orchestration import FLOOR_MINUTES, batch_window
from runtime.orchestration.window import to_utc


@pytest.mark.parametrize(
    ("source", "start", "end"),
    [
        ("2025-01-15T10:27:41Z", "2025-01-15T10:23:00Z", "2025-01-15T10:27:41Z"),
        ("2025-01-15T10:08:00Z", "2025-01-15T10:08:00Z", "2025-01-15T10:08:00Z"),
        ("2025-01-15T10:07:59Z", "2025-01-15T09:53:00Z", "2025-01-15T10:07:59Z"),
        ("2025-01-15T10:53:00Z", "2025-01-15T10:53:00Z", "2025-01-15T10:53:00Z"),
        ("2025-01-15T10:59:59Z", "2025-01-15T10:53:00Z", "2025-01-15T10:59:59Z"),
        ("2025-01-15T10:38:12.345Z", "2025-01-15T10:38:00Z", "2025-01-15T10:38:12.345Z"),
        ("2025-01-16T00:03:00Z", "2025-01-15T23:53:00Z", "2025-01-16T00:03:00Z"),
        ("2025-03-01T00:00:00Z", "2025-02-28T23:53:00Z", "2025-03-01T00:00:00Z"),
        ("2024-03-01T00:07:00Z", "2024-02-29T23:53:00Z", "2024-03-01T00:07:00Z"),
        ("2025-01-01T00:05:30Z", "2024-12-31T23:53:00Z", "2025-01-01T00:05:30Z"),
        ("2025-01-15T12:30:00+02:00", "2025-01-15T10:23:00Z", "2025-01-15T10:30:00Z"),
        ("2025-01-15T10:30:00", "2025-01-15T10:23:00Z", "2025-01-15T10:30:00Z"),
    ],
)
def test_batch_window_hand_computed(source: str, start: str, end: str) -> None:
    assert batch_window(source) == (start, end)


def test_accepts_datetimes_and_epoch_seconds() -> None:
    aware = datetime(2025, 1, 15, 5, 45, 10, tzinfo=timezone(timedelta(hours=-5)))
    assert batch_window(aware) == ("2025-01-15T10:38:00Z", "2025-01-15T10:45:10Z")
    assert batch_window(0) == ("1969-12-31T23:53:00Z", "1970-01-01T00:00:00Z")


@pytest.mark.parametrize("bad", ["yesterday", "", "2025-13-01T00:00:00Z", True, None, [1]])
def test_bad_timestamps_raise_value_error(bad: object) -> None:
    with pytest.raises(ValueError, match=r"timestamp|epoch"):
        batch_window(bad)  # type: ignore[arg-type]


@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)))
def test_start_is_latest_floor_minute_not_after_source(moment: datetime) -> None:
    start_iso, end_iso = batch_window(moment)
    start, end = to_utc(start_iso), to_utc(end_iso)
    assert start.minute in FLOOR_MINUTES and start.second == 0
    assert start <= end < start + timedelta(minutes=15)
    assert abs((end - moment).total_seconds()) < 0.001


def test_a_window_before_year_one_is_a_readable_error() -> None:
    from runtime.errors import BatchTimestampError

    with pytest.raises(BatchTimestampError, match=r"0001-01-01T00:05:00Z has no batch window"):
        batch_window("0001-01-01T00:05Z")
