"""EventBridge cron evaluation against occurrences computed by hand (calendar checked: 2025-01-01 is a
Wednesday, 2024 is a leap year; Berlin switches to CEST on 2025-03-30 02:00 and back on 2025-10-26 03:00)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from compiler.local.cron import CronError, occurrences, parse


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _fire(expression: str, start: str, end: str, timezone: str = "UTC") -> list[str]:
    return [t.strftime("%Y-%m-%dT%H:%M") for t in occurrences(parse(expression), _at(start), _at(end), timezone)]


def test_the_compiled_daily_and_monthly_schedules() -> None:
    assert _fire("cron(30 0 * * ? *)", "2025-01-01T00:00Z", "2025-01-03T00:00Z") == [
        "2025-01-01T00:30",
        "2025-01-02T00:30",
    ]
    assert _fire("cron(0 1 1 * ? *)", "2024-11-15T00:00Z", "2025-03-15T00:00Z") == [
        "2024-12-01T01:00",
        "2025-01-01T01:00",
        "2025-02-01T01:00",
        "2025-03-01T01:00",
    ]


def test_the_range_is_start_inclusive_end_exclusive() -> None:
    assert _fire("cron(30 0 * * ? *)", "2025-01-01T00:30Z", "2025-01-02T00:30Z") == ["2025-01-01T00:30"]


def test_last_day_of_the_month_across_a_leap_february() -> None:
    assert _fire("cron(0 12 L * ? *)", "2024-01-01T00:00Z", "2024-05-01T00:00Z") == [
        "2024-01-31T12:00",
        "2024-02-29T12:00",
        "2024-03-31T12:00",
        "2024-04-30T12:00",
    ]
    assert _fire("cron(0 12 L 2 ? *)", "2025-01-01T00:00Z", "2026-01-01T00:00Z") == ["2025-02-28T12:00"]


def test_day_31_fires_only_in_months_that_have_it() -> None:
    assert _fire("cron(0 0 31 * ? *)", "2025-01-01T00:00Z", "2025-06-01T00:00Z") == [
        "2025-01-31T00:00",
        "2025-03-31T00:00",
        "2025-05-31T00:00",
    ]


def test_day_of_week_names_ranges_and_numbers() -> None:
    # Fri 3, Sat 4, Sun 5, Mon 6, Tue 7 January 2025
    assert _fire("cron(0 9 ? * MON-FRI *)", "2025-01-03T00:00Z", "2025-01-08T00:00Z") == [
        "2025-01-03T09:00",
        "2025-01-06T09:00",
        "2025-01-07T09:00",
    ]
    assert _fire("cron(0 9 ? * 1,7 *)", "2025-01-03T00:00Z", "2025-01-08T00:00Z") == [  # 1 = SUN, 7 = SAT
        "2025-01-04T09:00",
        "2025-01-05T09:00",
    ]


def test_nth_weekday_of_the_month() -> None:
    # 3#2: the second Tuesday (Tuesdays: 7 and 14 January, 4 and 11 February 2025)
    assert _fire("cron(0 10 ? * 3#2 *)", "2025-01-01T00:00Z", "2025-03-01T00:00Z") == [
        "2025-01-14T10:00",
        "2025-02-11T10:00",
    ]


def test_year_field_and_increments_across_the_new_year() -> None:
    assert _fire("cron(0 0 1 JAN ? 2026-2027)", "2024-01-01T00:00Z", "2030-01-01T00:00Z") == [
        "2026-01-01T00:00",
        "2027-01-01T00:00",
    ]
    assert _fire("cron(0/20 23 31 12 ? *)", "2025-12-31T00:00Z", "2026-01-02T00:00Z") == [
        "2025-12-31T23:00",
        "2025-12-31T23:20",
        "2025-12-31T23:40",
    ]
    assert _fire("cron(1/10 5 1 1 ? 2025)", "2025-01-01T00:00Z", "2025-01-02T00:00Z") == [
        "2025-01-01T05:01",
        "2025-01-01T05:11",
        "2025-01-01T05:21",
        "2025-01-01T05:31",
        "2025-01-01T05:41",
        "2025-01-01T05:51",
    ]


def test_time_zone_and_daylight_saving_changes() -> None:
    # 02:30 Berlin: CET (+1) on 29 March, does not exist on 30 March, CEST (+2) from 31 March
    assert _fire("cron(30 2 * * ? *)", "2025-03-29T00:00Z", "2025-04-01T00:00Z", "Europe/Berlin") == [
        "2025-03-29T01:30",
        "2025-03-31T00:30",
    ]
    # 02:30 exists twice on 26 October: it runs once (the first, still CEST)
    assert _fire("cron(30 2 * * ? *)", "2025-10-25T00:00Z", "2025-10-28T00:00Z", "Europe/Berlin") == [
        "2025-10-25T00:30",
        "2025-10-26T00:30",
        "2025-10-27T01:30",
    ]


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("rate(1 day)", "only cron(...) expressions"),
        ("cron(0 0 * * *)", "has 5 fields"),
        ("cron(0 0 * * * *)", "exactly one of day-of-month and day-of-week must be '?'"),
        ("cron(0 0 ? * ? *)", "exactly one of day-of-month and day-of-week must be '?'"),
        ("cron(60 0 * * ? *)", "minutes: 60 is outside 0-59"),
        ("cron(0 0 * * ? 1969)", "year: 1969 is outside 1970-2199"),
        ("cron(0 0 15W * ? *)", "'W' (nearest weekday), which the local scheduler clock does not evaluate"),
        ("cron(0 0 ? * 6L *)", "day-of-week: '6L' uses 'L'"),
        ("cron(0 0 L-2 * ? *)", "'L' combined with other values or an offset"),
        ("cron(0 0 ? * 3#1,6#3 *)", "with '#' only one expression is allowed"),
        ("cron(0 0 * FOO ? *)", "month: 'FOO' is not a value"),
        ("cron(0 5-2 * * ? *)", "hours: range '5-2' runs backwards"),
        ("cron(0/0 0 * * ? *)", "positive whole increment"),
        ("cron(0 0 ? * 1/2 *)", "'/' is not a day-of-week wildcard"),
    ],
)
def test_invalid_or_unevaluated_expressions_are_refused_with_the_reason(expression: str, message: str) -> None:
    with pytest.raises(CronError) as raised:
        parse(expression)
    assert message in str(raised.value)


def test_an_unknown_time_zone_is_refused() -> None:
    with pytest.raises(CronError, match="not an IANA time zone"):
        list(
            occurrences(
                parse("cron(0 0 * * ? *)"),
                datetime(2025, 1, 1, tzinfo=UTC),
                datetime(2025, 1, 2, tzinfo=UTC),
                "Mars/Olympus",
            )
        )
