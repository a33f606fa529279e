"""Schedules in real time zones, including the nights clocks change.

Europe/Berlin: 2025-03-30 02:00 CET -> 03:00 CEST (01:00 UTC); 2025-10-26 03:00 CEST -> 02:00 CET
(01:00 UTC). America/New_York: 2025-03-09 02:00 EST -> 03:00 EDT.
"""

import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta

import pytest

from strongroom.policy.schedules import (
    Interval,
    is_open,
    local_to_utc,
    occurrences,
    parse_hhmm,
    time_zone,
    window_end,
)

from .builders import at, schedule

WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri"]
OFFICE = schedule("Europe/Berlin", (WEEKDAYS, "08:00", "18:00"))


def test_a_moment_inside_a_weekday_window_is_open() -> None:
    # Monday 2025-03-03 10:00 CET
    assert is_open(OFFICE, at("2025-03-03T09:00:00Z"))


def test_the_start_of_a_window_is_inside_and_its_end_is_outside() -> None:
    assert is_open(OFFICE, at("2025-03-03T07:00:00Z"))  # 08:00 CET
    assert not is_open(OFFICE, at("2025-03-03T06:59:59Z"))
    assert not is_open(OFFICE, at("2025-03-03T17:00:00Z"))  # 18:00 CET
    assert window_end(OFFICE, at("2025-03-03T16:59:59Z")) == at("2025-03-03T17:00:00Z")


def test_a_day_not_listed_is_closed() -> None:
    assert not is_open(OFFICE, at("2025-03-08T10:00:00Z"))  # Saturday


def test_windows_follow_the_zones_offset_in_winter_and_in_summer() -> None:
    assert window_end(OFFICE, at("2025-01-06T12:00:00Z")) == at("2025-01-06T17:00:00Z")  # CET
    assert window_end(OFFICE, at("2025-07-07T12:00:00Z")) == at("2025-07-07T16:00:00Z")  # CEST


def test_a_window_across_midnight_belongs_to_the_day_it_starts() -> None:
    night = schedule("UTC", (["Fri"], "22:00", "06:00"))
    assert is_open(night, at("2025-03-07T23:00:00Z"))  # Friday night
    assert is_open(night, at("2025-03-08T05:59:00Z"))  # Saturday morning, still Friday's window
    assert window_end(night, at("2025-03-07T23:00:00Z")) == at("2025-03-08T06:00:00Z")
    # Friday morning belongs to Thursday's window, and Thursday is not listed.
    assert not is_open(night, at("2025-03-07T03:00:00Z"))


def test_from_and_to_equal_mean_the_whole_day() -> None:
    day = schedule("UTC", (["Mon"], "00:00", "00:00"))
    assert window_end(day, at("2025-03-03T00:00:00Z")) == at("2025-03-04T00:00:00Z")
    assert not is_open(day, at("2025-03-04T00:00:00Z"))


def test_windows_that_touch_form_one_period_so_a_grant_can_run_through() -> None:
    shifts = schedule("UTC", (["Mon"], "22:00", "06:00"), (["Tue"], "06:00", "10:00"))
    assert window_end(shifts, at("2025-03-03T23:00:00Z")) == at("2025-03-04T10:00:00Z")


def test_a_night_window_is_an_hour_shorter_when_clocks_spring_forward() -> None:
    night = schedule("Europe/Berlin", (["Sat"], "22:00", "06:00"))
    start = at("2025-03-29T21:00:00Z")  # Saturday 22:00 CET
    assert is_open(night, start)
    assert window_end(night, start) == at("2025-03-30T04:00:00Z")  # Sunday 06:00 CEST: 7 hours


def test_a_night_window_is_an_hour_longer_when_clocks_fall_back() -> None:
    night = schedule("Europe/Berlin", (["Sat"], "22:00", "06:00"))
    start = at("2025-10-25T20:00:00Z")  # Saturday 22:00 CEST
    assert window_end(night, start) == at("2025-10-26T05:00:00Z")  # Sunday 06:00 CET: 9 hours


def test_a_window_starting_in_the_skipped_hour_opens_when_the_clock_jumps() -> None:
    early = schedule("Europe/Berlin", (["Sun"], "02:30", "04:00"))
    assert not is_open(early, at("2025-03-30T00:59:59Z"))  # 01:59:59 CET
    assert is_open(early, at("2025-03-30T01:00:00Z"))  # 03:00 CEST, the first reading after 02:30
    assert window_end(early, at("2025-03-30T01:00:00Z")) == at("2025-03-30T02:00:00Z")  # 04:00 CEST


def test_a_window_wholly_inside_the_skipped_hour_never_opens() -> None:
    skipped = schedule("Europe/Berlin", (["Sun"], "02:05", "02:45"))
    for moment in ("2025-03-30T00:30:00Z", "2025-03-30T01:00:00Z", "2025-03-30T01:30:00Z"):
        assert not is_open(skipped, at(moment))


def test_a_window_ending_in_the_repeated_hour_closes_the_first_time_the_clock_shows_its_end() -> None:
    late = schedule("Europe/Berlin", (["Sun"], "00:00", "02:30"))
    assert window_end(late, at("2025-10-25T23:00:00Z")) == at("2025-10-26T00:30:00Z")  # 02:30 CEST
    assert not is_open(late, at("2025-10-26T01:15:00Z"))  # 02:15 CET, the second pass


def test_a_window_starting_in_the_repeated_hour_opens_at_its_first_occurrence() -> None:
    late = schedule("Europe/Berlin", (["Sun"], "02:30", "05:00"))
    assert not is_open(late, at("2025-10-26T00:29:00Z"))
    assert is_open(late, at("2025-10-26T00:30:00Z"))  # 02:30 CEST


def test_new_york_office_hours_move_in_utc_when_daylight_saving_starts() -> None:
    office = schedule("America/New_York", (WEEKDAYS, "09:00", "17:00"))
    assert window_end(office, at("2025-03-03T15:00:00Z")) == at("2025-03-03T22:00:00Z")  # EST
    assert window_end(office, at("2025-03-10T15:00:00Z")) == at("2025-03-10T21:00:00Z")  # EDT
    assert not is_open(office, at("2025-03-10T21:30:00Z"))


def test_local_times_that_exist_once_convert_plainly() -> None:
    zone = time_zone("Europe/Berlin")
    assert local_to_utc(datetime(2025, 3, 3, 8, 0), zone) == at("2025-03-03T07:00:00Z")


def test_an_unknown_time_zone_is_a_clear_error() -> None:
    broken = schedule("Mars/Olympus_Mons", (WEEKDAYS, "08:00", "18:00"))
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Olympus_Mons'"):
        is_open(broken, at("2025-03-03T09:00:00Z"))


def test_a_malformed_time_of_day_is_a_clear_error() -> None:
    # Bypasses model validation, as an object built in code (not read from the API) could.
    broken = OFFICE.model_copy(update={"windows": [OFFICE.windows[0].model_copy(update={"from_": "8:00"})]})
    with pytest.raises(ValueError, match=r"invalid time of day '8:00'"):
        is_open(broken, at("2025-03-03T09:00:00Z"))


@pytest.mark.parametrize("text", ["24:00", "8:30", "08:60", "0800", ""])
def test_times_of_day_outside_the_24_hour_clock_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="HH:MM"):
        parse_hhmm(text)


@pytest.mark.parametrize(("zone", "day", "jump"), [
    ("Europe/Berlin", date(2025, 3, 30), "2025-03-30T01:00:00Z"),
    ("America/New_York", date(2025, 3, 9), "2025-03-09T07:00:00Z"),
])
def test_every_time_in_the_skipped_hour_maps_to_the_exact_second_of_the_jump(zone: str, day: date, jump: str) -> None:
    # The bisection must land on the exact second, whatever the wall time it starts from.
    tz = time_zone(zone)
    for minute in range(60):
        for second in (0, 1, 29, 59):
            assert local_to_utc(datetime(day.year, day.month, day.day, 2, minute, second), tz) == at(jump)


def test_a_repeated_wall_time_maps_to_its_first_occurrence_even_when_given_as_the_second() -> None:
    second_pass = datetime(2025, 10, 26, 2, 30, fold=1)
    assert local_to_utc(second_pass, time_zone("Europe/Berlin")) == at("2025-10-26T00:30:00Z")  # 02:30 CEST


def test_occurrences_include_the_last_day_and_come_out_by_start() -> None:
    shifts = schedule("UTC", (["Mon"], "12:00", "13:00"), (["Mon"], "08:00", "09:00"), (["Tue"], "08:00", "09:00"))
    assert occurrences(shifts, date(2025, 3, 3), date(2025, 3, 3)) == [
        Interval(at("2025-03-03T08:00:00Z"), at("2025-03-03T09:00:00Z")),
        Interval(at("2025-03-03T12:00:00Z"), at("2025-03-03T13:00:00Z")),
    ]
    assert len(occurrences(shifts, date(2025, 3, 3), date(2025, 3, 4))) == 3


def test_a_window_wholly_inside_the_skipped_hour_has_no_occurrence() -> None:
    skipped = schedule("Europe/Berlin", (["Sun"], "02:05", "02:45"), (["Sun"], "02:30", "04:00"))
    assert occurrences(skipped, date(2025, 3, 30), date(2025, 3, 30)) == [
        Interval(at("2025-03-30T01:00:00Z"), at("2025-03-30T02:00:00Z"))
    ]


@pytest.fixture
def process_time_zone(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The operator's own local time zone (TZ) set to one far from UTC and from the schedules' zones."""
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("process_time_zone")
def test_conversions_give_utc_whatever_the_operators_own_time_zone() -> None:
    berlin = time_zone("Europe/Berlin")
    for local, expected in [
        (datetime(2025, 3, 3, 8, 0), "2025-03-03T07:00:00Z"),
        (datetime(2025, 3, 30, 2, 17, 41), "2025-03-30T01:00:00Z"),
    ]:
        converted = local_to_utc(local, berlin)
        assert converted == at(expected) and converted.utcoffset() == timedelta(0)


@pytest.mark.usefixtures("process_time_zone")
def test_a_wall_time_that_exists_keeps_its_fractions_of_a_second() -> None:
    converted = local_to_utc(datetime(2025, 3, 3, 8, 0, 0, 250000), time_zone("Europe/Berlin"))
    assert converted == at("2025-03-03T07:00:00.250000Z")


@pytest.mark.usefixtures("process_time_zone")
def test_the_day_a_moment_falls_on_is_the_schedules_day_not_utcs_or_the_operators() -> None:
    # Sunday 22:00 to Monday 21:30 in New York; Monday 21:00 EST is already Tuesday in UTC and in India.
    long_night = schedule("America/New_York", (["Sun"], "22:00", "21:30"))
    monday_evening = at("2025-03-04T02:00:00Z")
    assert window_end(long_night, monday_evening) == at("2025-03-04T02:30:00Z")
