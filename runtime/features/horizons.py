"""Horizons and gaps as the specs write them: `15m`, `1h`, `7d`, `4w`."""

from __future__ import annotations

import re
from datetime import timedelta

from runtime.config.payload import PayloadReader

HORIZON_PATTERN = re.compile(r"^([1-9][0-9]{0,3})([mhdw])$")
DEFAULT_HORIZONS: tuple[str, ...] = ("7d", "30d")
"""FG-B's baseline horizons, and so FG-C's, when a spec lists none."""
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_horizon(text: str) -> timedelta:
    """`7d` -> 7 days; raises ValueError naming the accepted forms."""
    match = HORIZON_PATTERN.match(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"{text!r} is not a horizon: a positive number followed by m, h, d or w (e.g. 7d)")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def read_horizons(r: PayloadReader, path: str = "horizons") -> tuple[str, ...]:
    """The spec's distinct baseline horizons (FG-B builds them, FG-C reads them), each a valid horizon."""
    horizons = r.strings(path, DEFAULT_HORIZONS)
    for horizon in horizons:
        try:
            parse_horizon(horizon)
        except ValueError as err:
            raise r.fail(path, str(err)) from None
    if not horizons or len(set(horizons)) != len(horizons):
        raise r.fail(path, f"must be a non-empty list of distinct horizons (got {list(horizons)})")
    return tuple(horizons)
