"""Durations as written in the API: "90m", "8h", "1h30m", "2d", "45s" (units in that order)."""

from __future__ import annotations

import re
from datetime import timedelta

from strongroom.api.common import DURATION_PATTERN

_PARTS = re.compile(DURATION_PATTERN)
_UNITS = ("days", "hours", "minutes", "seconds")


def parse_duration(text: str) -> timedelta:
    """Parse a duration string; refuses empty, malformed, zero and (by the syntax) negative values."""
    match = _PARTS.fullmatch(text) if text else None
    if not text or match is None:
        raise ValueError(
            f"invalid duration {text!r}: use whole numbers with units d, h, m, s in that order, "
            'e.g. "90m", "1h30m", "2d"'
        )
    amounts = {unit: int(value[:-1]) for unit, value in zip(_UNITS, match.groups(), strict=True) if value}
    duration = timedelta(**amounts)
    if duration <= timedelta(0):
        raise ValueError(f"invalid duration {text!r}: it must be longer than zero")
    return duration


def format_duration(duration: timedelta) -> str:
    """The shortest API spelling of a positive duration, e.g. 5400 s -> "1h30m"."""
    seconds = int(duration.total_seconds())
    if seconds <= 0:
        raise ValueError(f"cannot format a duration that is not positive: {duration}")
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = zip((days, hours, minutes, seconds), "dhms", strict=True)
    return "".join(f"{amount}{unit}" for amount, unit in parts if amount)
