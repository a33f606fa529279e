from datetime import timedelta

import pytest

from strongroom.policy.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90m", timedelta(minutes=90)),
        ("8h", timedelta(hours=8)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("2d", timedelta(days=2)),
        ("45s", timedelta(seconds=45)),
        ("1d2h3m4s", timedelta(days=1, hours=2, minutes=3, seconds=4)),
    ],
)
def test_durations_in_the_api_spelling_are_parsed(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "90", "1m1h", "-5m", " 5m", "1.5h", "5 m", "h", "5w"])
def test_malformed_durations_are_refused_with_an_example_of_the_syntax(text: str) -> None:
    with pytest.raises(ValueError, match=r"invalid duration .*e\.g\. \"90m\""):
        parse_duration(text)


@pytest.mark.parametrize("text", ["0m", "0h0m", "0s"])
def test_a_zero_duration_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="longer than zero"):
        parse_duration(text)


@pytest.mark.parametrize("text", ["90s", "1h30m", "2d", "1d1s"])
def test_formatting_gives_the_shortest_spelling_that_parses_back(text: str) -> None:
    duration = parse_duration(text)
    assert parse_duration(format_duration(duration)) == duration
    assert format_duration(timedelta(minutes=90)) == "1h30m"


def test_formatting_refuses_a_duration_that_is_not_positive() -> None:
    with pytest.raises(ValueError, match="not positive"):
        format_duration(timedelta(0))


def test_a_malformed_duration_is_refused_with_the_whole_syntax_explained() -> None:
    with pytest.raises(ValueError) as raised:
        parse_duration("90")
    assert str(raised.value) == (
        "invalid duration '90': use whole numbers with units d, h, m, s in that order, e.g. \"90m\", \"1h30m\", \"2d\""
    )


def test_the_shortest_positive_duration_formats_as_one_second() -> None:
    assert format_duration(timedelta(seconds=1)) == "1s"
    assert format_duration(timedelta(days=1, seconds=1)) == "1d1s"
