"""Horizons and gaps as the specs write them: `15m`, `1h`, `7d`, `4w`."""

from __future__ import annotations

import re
from datetime import timedelta

HORIZON_PATTERN = re.compile(r"^([1-9][0-9]{0,3})([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_horizon(text: str) -> timedelta:
    """`7d` -> 7 days; raises ValueError naming the accepted forms."""
    match = HORIZON_PATTERN.match(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"{text!r} is not a horizon: a positive number followed by m, h, d or w (e.g. 7d)")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
