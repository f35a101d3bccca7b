"""The cron-floor window policy: start floored to minute 08/23/38/53, end = the source timestamp."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from runtime.contract import WINDOW_FLOOR_MINUTES
from runtime.errors import BatchTimestampError


def to_utc(source_ts: datetime | str | int | float) -> datetime:
    """An aware UTC datetime from a datetime, ISO-8601 text or epoch seconds; naive values are UTC."""
    if isinstance(source_ts, bool):
        raise BatchTimestampError(f"source timestamp must be a time, not a boolean ({source_ts!r})")
    if isinstance(source_ts, int | float):
        try:
            return datetime.fromtimestamp(source_ts, tz=UTC)
        except (OverflowError, OSError, ValueError) as err:
            raise BatchTimestampError(f"epoch seconds {source_ts!r} are out of range ({err})") from None
    if isinstance(source_ts, str):
        text = source_ts.strip()
        try:
            parsed = datetime.fromisoformat(text[:-1] + "+00:00" if text[-1:] in "zZ" and text else text)
        except ValueError:
            raise BatchTimestampError(
                f"source timestamp {source_ts!r} is not ISO-8601 (e.g. 2025-01-15T10:27:41Z)"
            ) from None
        source_ts = parsed
    if not isinstance(source_ts, datetime):
        raise BatchTimestampError(f"source timestamp must be datetime, ISO text or epoch (got {source_ts!r})")
    return source_ts.replace(tzinfo=UTC) if source_ts.tzinfo is None else source_ts.astimezone(UTC)


def iso_z(moment: datetime) -> str:
    """ISO-8601 UTC with `Z`; milliseconds only when the time has a fraction of a second."""
    moment = moment.astimezone(UTC).replace(tzinfo=None)
    # isoformat, not strftime: %Y does not zero-pad years before 1000 on every platform
    return moment.isoformat(timespec="milliseconds" if moment.microsecond else "seconds") + "Z"


def floor_to_cron(moment: datetime) -> datetime:
    moment = to_utc(moment).replace(second=0, microsecond=0)
    earlier = [m for m in WINDOW_FLOOR_MINUTES if m <= moment.minute]
    if earlier:
        return moment.replace(minute=earlier[-1])
    try:
        return (moment - timedelta(hours=1)).replace(minute=WINDOW_FLOOR_MINUTES[-1])
    except OverflowError:
        raise BatchTimestampError(
            f"source timestamp {iso_z(moment)} has no batch window: its window would start before year 1"
        ) from None


def batch_window(source_ts: datetime | str | int | float) -> tuple[str, str]:
    """(batch_start_ts_iso, batch_end_ts_iso) for a source timestamp, both ISO-8601 UTC with `Z`."""
    moment = to_utc(source_ts)
    return iso_z(floor_to_cron(moment)), iso_z(moment)
