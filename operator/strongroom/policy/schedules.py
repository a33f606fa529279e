"""Is a moment inside a Safe schedule, and when does the window around it end?

Windows are wall-clock times in the schedule's IANA time zone. A window whose `to` is at or before
its `from` crosses midnight and belongs to the day it starts. Windows that overlap or touch form one
continuous period (Mon 22:00-06:00 followed by Tue 06:00-10:00 is open from Monday 22:00 to Tuesday
10:00).

Daylight saving: the arithmetic is done on the local wall clock and only then converted to UTC, so
a 22:00-06:00 window lasts 7 real hours on the night clocks go forward and 9 on the night they go
back. A wall time is read as the first instant the clock shows it or later: in the hour that repeats
in autumn that is its first occurrence; in the hour skipped in spring (which no clock shows) it is
the moment the clock jumps.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from strongroom.api.common import HHMM_PATTERN
from strongroom.api.safe import Schedule, ScheduleWindow

# How far ahead continuous windows are followed; grants are far shorter than this in practice.
LOOKAHEAD_DAYS = 8

_HHMM = re.compile(HHMM_PATTERN)


@dataclass(frozen=True)
class Interval:
    """A half-open interval [start, end) of UTC instants."""

    start: datetime
    end: datetime

    def __contains__(self, moment: datetime) -> bool:
        return self.start <= moment < self.end


def parse_hhmm(text: str) -> time:
    """ "08:30" -> 08:30; anything else (e.g. "8:30", "24:00") is a ValueError."""
    if not _HHMM.fullmatch(text):
        raise ValueError(f'invalid time of day {text!r}: use "HH:MM" on a 24-hour clock, 00:00 to 23:59')
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def time_zone(name: str) -> ZoneInfo:
    """The IANA zone, or a ValueError naming it."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown time zone {name!r}: use an IANA name such as Europe/Berlin") from error


def _jump(before: datetime, after: datetime, zone: ZoneInfo) -> datetime:
    # The UTC offset changes exactly once between the two instants; find that second by bisection.
    target = after.astimezone(zone).utcoffset()
    low, high = int(before.timestamp()), int(after.timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, UTC).astimezone(zone).utcoffset() == target:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


def local_to_utc(local: datetime, zone: ZoneInfo) -> datetime:
    """The first instant at which the wall clock in `zone` shows `local` (naive) or later."""
    first = local.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == local:
        return first  # it exists; fold=0 is the earlier reading when the hour repeats
    # In a gap: fold=0 applies the old offset (an instant after the jump), fold=1 the new one
    # (an instant before it); the clock first shows `local` or later at the jump itself.
    return _jump(local.replace(tzinfo=zone, fold=1).astimezone(UTC), first, zone)


def _occurrence(window: ScheduleWindow, day: date, zone: ZoneInfo) -> Interval | None:
    start, end = parse_hhmm(window.from_), parse_hhmm(window.to)
    end_day = day if end > start else day + timedelta(days=1)
    interval = Interval(
        local_to_utc(datetime.combine(day, start), zone), local_to_utc(datetime.combine(end_day, end), zone)
    )
    # A window lying wholly inside a skipped hour is empty.
    return interval if interval.start < interval.end else None


def occurrences(schedule: Schedule, first_day: date, last_day: date) -> list[Interval]:
    """Every window of the schedule that starts on a local date from first_day to last_day, by start."""
    zone = time_zone(schedule.time_zone)
    found = []
    day = first_day
    while day <= last_day:
        for window in schedule.windows:
            if any(d.weekday == day.weekday() for d in window.days):
                interval = _occurrence(window, day, zone)
                if interval is not None:
                    found.append(interval)
        day += timedelta(days=1)
    return sorted(found, key=lambda interval: interval.start)


def _merged(intervals: list[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for interval in intervals:
        if merged and interval.start <= merged[-1].end:
            merged[-1] = Interval(merged[-1].start, max(merged[-1].end, interval.end))
        else:
            merged.append(interval)
    return merged


def window_end(schedule: Schedule, at: datetime) -> datetime | None:
    """The end (UTC) of the continuous open period containing `at`, or None when `at` is outside.

    A period longer than LOOKAHEAD_DAYS is cut there."""
    today = at.astimezone(time_zone(schedule.time_zone)).date()
    # Yesterday's windows may cross midnight into today.
    candidates = occurrences(schedule, today - timedelta(days=1), today + timedelta(days=LOOKAHEAD_DAYS))
    return next((period.end for period in _merged(candidates) if at in period), None)


def is_open(schedule: Schedule, now: datetime) -> bool:
    """Whether `now` is inside one of the schedule's windows."""
    return window_end(schedule, now) is not None
