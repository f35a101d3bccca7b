"""The training window: `lookback_months` of history ending `gap_months` before the reference time.

Month arithmetic is calendar arithmetic in UTC: shifting a time back by k months keeps the time of day
and the day of month, clamped to the last day of the target month (2025-03-31 minus 1 month is
2025-02-28). end = reference - gap_months; start = end - lookback_months. A row belongs to the window
when start <= window_start_ts < end, so the `dt` partitions read are start's date to the date of the
last instant before end.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from runtime.orchestration.window import to_utc


def reference_time(reference_ts_iso: str | None, now: datetime | None = None) -> datetime:
    """The given time in UTC; none (the pipeline's empty default) means the start of the current UTC day,
    so every step of one pipeline run derives the same window."""
    if reference_ts_iso:
        return to_utc(reference_ts_iso)
    today = (now or datetime.now(UTC)).astimezone(UTC)
    return today.replace(hour=0, minute=0, second=0, microsecond=0)


def months_before(moment: datetime, months: int) -> datetime:
    index = moment.year * 12 + (moment.month - 1) - months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


@dataclass(frozen=True)
class TrainingWindow:
    reference: datetime
    start: datetime
    end: datetime
    lookback_months: int
    gap_months: int

    @classmethod
    def before(cls, reference: datetime, lookback_months: int, gap_months: int) -> TrainingWindow:
        end = months_before(reference, gap_months)
        return cls(reference, months_before(end, lookback_months), end, lookback_months, gap_months)

    def dates(self) -> list[date]:
        """Every UTC date with at least one instant in [start, end)."""
        last = (self.end - timedelta(microseconds=1)).date()
        days = (last - self.start.date()).days
        return [self.start.date() + timedelta(days=i) for i in range(days + 1)]

    def holds_date(self, day: str) -> bool:
        try:
            parsed = date.fromisoformat(day)
        except ValueError:
            return False
        return self.start.date() <= parsed <= (self.end - timedelta(microseconds=1)).date()

    def as_dict(self) -> dict[str, object]:
        return {
            "reference_ts": _iso(self.reference),
            "start_ts": _iso(self.start),
            "end_ts": _iso(self.end),
            "lookback_months": self.lookback_months,
            "gap_months": self.gap_months,
            "rule": "start <= window_start_ts < end",
        }


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
