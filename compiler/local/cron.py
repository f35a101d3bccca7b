"""EventBridge Scheduler `cron(...)` expressions: parsed and evaluated over a time range (pure).

The semantics are the documented ones (EventBridge Scheduler User Guide, "Schedule types on EventBridge
Scheduler" -> "Cron-based schedules", https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html,
which points to the EventBridge cron reference,
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cron-expressions.html):

    cron(minutes hours day-of-month month day-of-week year)
    minutes 0-59, hours 0-23, day-of-month 1-31, month 1-12 or JAN-DEC, day-of-week 1-7 or SUN-SAT (1 = Sunday),
    year 1970-2199; wildcards `,` `-` `*` everywhere, `/` everywhere but day-of-week, `?` in day-of-month or
    day-of-week, `L` (last day of the month) in day-of-month, `n#k` (the k-th weekday n of the month) in
    day-of-week.

One of day-of-month and day-of-week must be `?` (a value or `*` in one requires `?` in the other). `a/b` starts
at `a` and adds `b` up to the field's maximum (`1/10` minutes: 1, 11, 21, ...). The expression is evaluated in
`ScheduleExpressionTimezone`; across daylight-saving changes a local time that does not exist is skipped and one
that exists twice runs once (Scheduler's documented behaviour, "Daylight saving time" in the same guide).

Not evaluated (a CronError says so): `W` and `LW` in day-of-month, `L` in day-of-week (`L`, `nL`) and `L-n`
offsets — the compiled schedules use none of them — and `rate(...)` / `at(...)` expressions.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from compiler.errors import UsageError

MONTHS = {
    name: i
    for i, name in enumerate(
        ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), start=1
    )
}
DAYS = {name: i for i, name in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"), start=1)}
EXPRESSION = re.compile(r"^cron\((?P<fields>[^()]*)\)$")
FIELD_NAMES = ("minutes", "hours", "day-of-month", "month", "day-of-week", "year")
BOUNDS = ((0, 59), (0, 23), (1, 31), (1, 12), (1, 7), (1970, 2199))


class CronError(UsageError):
    """An expression that is not a valid EventBridge cron expression, or one this evaluator does not cover
    (bad input: exit 2)."""


@dataclass(frozen=True)
class Cron:
    expression: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int] | None  # day-of-month values; None when `?`
    last_day: bool  # `L` in day-of-month
    months: frozenset[int]
    weekdays: frozenset[int] | None  # day-of-week values (1 = Sunday); None when `?`
    nth_weekday: tuple[int, int] | None  # `n#k`: (weekday, k)
    years: frozenset[int]

    def matches_day(self, day: date) -> bool:
        if day.year not in self.years or day.month not in self.months:
            return False
        weekday = day.isoweekday() % 7 + 1  # ISO Monday=1..Sunday=7 -> Sunday=1..Saturday=7
        if self.weekdays is not None:
            return weekday in self.weekdays
        if self.nth_weekday is not None:
            wanted, k = self.nth_weekday
            return weekday == wanted and (day.day - 1) // 7 + 1 == k
        last = calendar.monthrange(day.year, day.month)[1]
        return (self.last_day and day.day == last) or (self.days is not None and day.day in self.days)


def _value(text: str, field: int, names: dict[str, int] | None) -> int:
    low, high = BOUNDS[field]
    upper = text.upper()
    if names and upper in names:
        return names[upper]
    if not text.isdigit():
        named = f" or {', '.join(names)}" if names else ""
        raise CronError(f"{FIELD_NAMES[field]}: {text!r} is not a value ({low}-{high}{named})")
    value = int(text)
    if not low <= value <= high:
        raise CronError(f"{FIELD_NAMES[field]}: {value} is outside {low}-{high}")
    return value


def _values(text: str, field: int, names: dict[str, int] | None = None) -> frozenset[int]:
    """`,` lists of `*`, `v`, `a-b`, each optionally `/step`."""
    low, high = BOUNDS[field]
    found: set[int] = set()
    for part in text.split(","):
        base, _, step_text = part.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) == 0:
                raise CronError(f"{FIELD_NAMES[field]}: {part!r} needs a positive whole increment after '/'")
            step = int(step_text)
        if base == "*":
            start, end = low, high
        elif "-" in base:
            first, _, last = base.partition("-")
            start, end = _value(first, field, names), _value(last, field, names)
            if start > end:
                raise CronError(f"{FIELD_NAMES[field]}: range {base!r} runs backwards")
        else:
            start = _value(base, field, names)
            end = high if step_text else start  # `a/b`: from a to the field's maximum
        found.update(range(start, end + 1, step))
    return frozenset(found)


def _unsupported(field: int, text: str, what: str) -> CronError:
    return CronError(
        f"{FIELD_NAMES[field]}: {text!r} uses {what}, which the local scheduler clock does not "
        "evaluate (the compiled schedules do not use it)"
    )


def parse(expression: str) -> Cron:
    """A `cron(...)` ScheduleExpression as data; CronError names the field and the problem."""
    stripped = expression.strip()
    if stripped.startswith(("rate(", "at(")):
        raise CronError(
            f"{expression!r}: only cron(...) expressions are evaluated locally (the compiled schedules are all cron)"
        )
    matched = EXPRESSION.match(stripped)
    if not matched:
        raise CronError(f"{expression!r} is not cron(minutes hours day-of-month month day-of-week year)")
    fields = matched["fields"].split()
    if len(fields) != 6:
        raise CronError(
            f"{expression!r} has {len(fields)} fields; EventBridge cron takes 6 "
            "(minutes hours day-of-month month day-of-week year)"
        )
    minute, hour, dom, month, dow, year = fields
    for index, text in ((0, minute), (1, hour), (3, month), (5, year)):
        if "?" in text or "#" in text:
            raise CronError(f"{FIELD_NAMES[index]}: {text!r} — '?' and '#' belong to the day fields")
    if (dom == "?") == (dow == "?"):
        raise CronError(
            f"{expression!r}: exactly one of day-of-month and day-of-week must be '?' (a value or '*' "
            "in one requires '?' in the other)"
        )
    days: frozenset[int] | None = None
    last_day = False
    if dom != "?":
        if "W" in dom.upper():
            raise _unsupported(2, dom, "'W' (nearest weekday)")
        if dom.upper() == "L":
            last_day = True
        elif "L" in dom.upper():
            raise _unsupported(2, dom, "'L' combined with other values or an offset")
        else:
            days = _values(dom, 2)
    weekdays: frozenset[int] | None = None
    nth: tuple[int, int] | None = None
    if dow != "?":
        if "L" in dow.upper():
            raise _unsupported(4, dow, "'L' (last day of the week / last weekday n of the month)")
        if "/" in dow:
            raise CronError(f"day-of-week: {dow!r} — '/' is not a day-of-week wildcard (EventBridge cron reference)")
        if "#" in dow:
            if "," in dow:
                raise CronError(f"day-of-week: {dow!r} — with '#' only one expression is allowed")
            weekday, _, k = dow.partition("#")
            if not k.isdigit() or not 1 <= int(k) <= 5:
                raise CronError(f"day-of-week: {dow!r} — the instance after '#' must be 1-5")
            nth = (_value(weekday, 4, DAYS), int(k))
        else:
            weekdays = _values(dow, 4, DAYS)
    return Cron(
        stripped,
        _values(minute, 0),
        _values(hour, 1),
        days,
        last_day,
        _values(month, 3, MONTHS),
        weekdays,
        nth,
        _values(year, 5),
    )


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise CronError(f"ScheduleExpressionTimezone {name!r} is not an IANA time zone") from error


def _instant(day: date, hour: int, minute: int, tz: ZoneInfo) -> datetime | None:
    """The UTC instant of a local wall time, None when the wall time does not exist (spring forward). An
    ambiguous wall time (fall back) is its first occurrence (fold=0): it runs once."""
    local = datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)
    instant = local.astimezone(UTC)
    if instant.astimezone(tz).replace(tzinfo=None) != local.replace(tzinfo=None):
        return None
    return instant


def occurrences(cron: Cron, start: datetime, end: datetime, timezone: str = "UTC") -> Iterator[datetime]:
    """Every instant the expression fires in [start, end), in order, as UTC datetimes (start/end: aware)."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be timezone-aware")
    tz = zone(timezone)
    day = start.astimezone(tz).date() - timedelta(days=1)  # a local day may begin before `start` in UTC
    last = end.astimezone(tz).date() + timedelta(days=1)
    times = sorted((h, m) for h in cron.hours for m in cron.minutes)
    found: list[datetime] = []
    while day <= last:
        if cron.matches_day(day):
            for hour, minute in times:
                instant = _instant(day, hour, minute, tz)
                if instant is not None and start <= instant < end:
                    found.append(instant)
        day += timedelta(days=1)
    yield from sorted(set(found))
