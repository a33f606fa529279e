from typing import Any

import pytest

from strongroom.api.accessrequest import RejectionReason, TimeWindow
from strongroom.api.safe import SafePolicy
from strongroom.policy.decision import Decision
from strongroom.policy.eligibility import check_requester
from strongroom.policy.windows import AccessWindow, WindowResult, check_requested_time, grant_window

from .builders import at, policy, safe

CREATED = at("2025-03-03T09:00:00Z")
APPROVED = at("2025-03-03T09:40:00Z")


def window(start: str, end: str) -> TimeWindow:
    return TimeWindow.model_validate({"start": start, "end": end})


def rules(**fields: Any) -> SafePolicy:
    return policy(**fields).policy


def compute(spec_policy: SafePolicy, **kwargs: Any) -> AccessWindow:
    kwargs.setdefault("duration", None)
    kwargs.setdefault("window", None)
    kwargs.setdefault("activation", APPROVED)
    result = grant_window(spec_policy, **kwargs)
    assert result.decision.allowed, result.decision.message
    assert result.window is not None
    return result.window


def test_a_duration_counts_from_approval_not_from_creation() -> None:
    computed = compute(rules(), duration="90m")
    assert computed == AccessWindow(APPROVED, at("2025-03-03T11:10:00Z"))


def test_without_duration_or_window_the_default_of_60m_applies() -> None:
    assert compute(rules(), activation=APPROVED).not_after == at("2025-03-03T10:40:00Z")


def test_the_default_duration_is_cut_to_the_maximum_rather_than_refused() -> None:
    spec_policy = rules(defaultDuration="4h", maxDuration="2h")
    assert check_requested_time(spec_policy, None, None, CREATED).allowed
    assert compute(spec_policy).not_after == at("2025-03-03T11:40:00Z")


def test_a_duration_over_the_maximum_is_refused_when_asked_and_when_approved() -> None:
    spec_policy = rules(maxDuration="8h")
    asked = check_requested_time(spec_policy, "9h", None, CREATED)
    assert asked.reason == RejectionReason.DURATION_OVER_MAXIMUM
    assert "9h is longer than the Safe allows (8h)" in asked.message
    approved = grant_window(spec_policy, duration="9h", window=None, activation=APPROVED)
    assert approved.decision.reason == RejectionReason.DURATION_OVER_MAXIMUM and approved.window is None


def test_a_duration_of_exactly_the_maximum_is_allowed() -> None:
    assert check_requested_time(rules(maxDuration="8h"), "8h", None, CREATED).allowed


def test_a_zero_duration_is_an_invalid_request() -> None:
    assert check_requested_time(rules(), "0m", None, CREATED).reason == RejectionReason.INVALID_WINDOW


def test_a_window_ending_before_it_starts_is_invalid() -> None:
    backwards = window("2025-03-03T12:00:00Z", "2025-03-03T11:00:00Z")
    assert check_requested_time(rules(), None, backwards, CREATED).reason == RejectionReason.INVALID_WINDOW


def test_a_window_already_over_is_invalid() -> None:
    past = window("2025-03-03T06:00:00Z", "2025-03-03T08:00:00Z")
    decision = check_requested_time(rules(), None, past, CREATED)
    assert decision.reason == RejectionReason.INVALID_WINDOW
    assert "ended at 2025-03-03T08:00:00Z" in decision.message


def test_a_window_that_starts_later_needs_allow_scheduled() -> None:
    later = window("2025-03-04T09:00:00Z", "2025-03-04T10:00:00Z")
    refused = check_requested_time(rules(), None, later, CREATED)
    assert refused.reason == RejectionReason.SCHEDULED_NOT_ALLOWED
    assert check_requested_time(rules(allowScheduled=True), None, later, CREATED).allowed


def test_a_window_starting_within_clock_skew_counts_as_now() -> None:
    almost_now = window("2025-03-03T09:00:30Z", "2025-03-03T10:00:00Z")
    assert check_requested_time(rules(), None, almost_now, CREATED).allowed


def test_a_window_starting_beyond_max_schedule_ahead_is_refused() -> None:
    spec_policy = rules(allowScheduled=True, maxScheduleAhead="7d")
    inside = window("2025-03-10T09:00:00Z", "2025-03-10T10:00:00Z")
    beyond = window("2025-03-10T09:00:01Z", "2025-03-10T10:00:00Z")
    assert check_requested_time(spec_policy, None, inside, CREATED).allowed
    assert check_requested_time(spec_policy, None, beyond, CREATED).reason == RejectionReason.SCHEDULE_TOO_FAR_AHEAD


def test_a_window_longer_than_the_maximum_is_refused() -> None:
    long = window("2025-03-03T09:00:00Z", "2025-03-03T18:00:01Z")
    decision = check_requested_time(rules(maxDuration="9h"), None, long, CREATED)
    assert decision.reason == RejectionReason.DURATION_OVER_MAXIMUM


def test_a_window_starts_at_its_start_when_approved_early_and_at_approval_when_approved_late() -> None:
    requested = window("2025-03-03T10:00:00Z", "2025-03-03T12:00:00Z")
    early = compute(rules(), window=requested, activation=at("2025-03-03T09:30:00Z"))
    assert early == AccessWindow(at("2025-03-03T10:00:00Z"), at("2025-03-03T12:00:00Z"))
    late = compute(rules(), window=requested, activation=at("2025-03-03T11:00:00Z"))
    assert late == AccessWindow(at("2025-03-03T11:00:00Z"), at("2025-03-03T12:00:00Z"))


def test_a_window_approved_after_its_end_leaves_nothing() -> None:
    requested = window("2025-03-03T10:00:00Z", "2025-03-03T12:00:00Z")
    result = grant_window(rules(), duration=None, window=requested, activation=at("2025-03-03T12:30:00Z"))
    assert result.decision.reason == RejectionReason.INVALID_WINDOW and result.window is None


def test_the_earliest_approver_narrowing_sets_the_end() -> None:
    narrowed = compute(rules(), duration="4h", narrowings=[at("2025-03-03T12:00:00Z"), at("2025-03-03T11:00:00Z")])
    assert narrowed.not_after == at("2025-03-03T11:00:00Z")


def test_a_narrowing_later_than_the_request_never_widens_it() -> None:
    widened = compute(rules(), duration="1h", narrowings=[at("2025-03-04T09:00:00Z")])
    assert widened.not_after == at("2025-03-03T10:40:00Z")


def test_a_narrowing_before_access_starts_leaves_nothing() -> None:
    result = grant_window(
        rules(), duration="1h", window=None, activation=APPROVED, narrowings=[at("2025-03-03T09:30:00Z")]
    )
    assert result.decision.reason == RejectionReason.INVALID_WINDOW
    assert "nothing is left" in result.decision.message


def test_a_grant_never_runs_past_the_end_of_the_schedule_window_it_started_in() -> None:
    office = {
        "name": "office",
        "timeZone": "Europe/Berlin",
        "windows": [{"days": ["Mon"], "from": "08:00", "to": "11:00"}],
    }
    spec = safe(members=[{"users": ["alice"], "schedule": "office"}], schedules=[office])
    eligible = check_requester(spec, "alice", [], "team", {}, now=APPROVED)
    computed = compute(spec.policy, duration="4h", eligible_until=eligible.until)
    assert computed.not_after == at("2025-03-03T10:00:00Z")  # 11:00 in Berlin


def test_a_safe_whose_own_maximum_cannot_be_read_is_a_configuration_error() -> None:
    broken = rules().model_copy(update={"max_duration": "0m"})
    with pytest.raises(ValueError, match="longer than zero"):
        check_requested_time(broken, "1h", None, CREATED)


def test_a_window_starting_exactly_one_clock_skew_ahead_still_counts_as_now() -> None:
    assert check_requested_time(rules(), None, window("2025-03-03T09:01:00Z", "2025-03-03T10:00:00Z"), CREATED).allowed
    later = check_requested_time(rules(), None, window("2025-03-03T09:01:01Z", "2025-03-03T10:00:00Z"), CREATED)
    assert later == Decision.deny(
        RejectionReason.SCHEDULED_NOT_ALLOWED, "the Safe does not allow windows that start later"
    )


def test_a_window_too_far_ahead_is_refused_naming_the_limit_and_its_start() -> None:
    spec_policy = rules(allowScheduled=True, maxScheduleAhead="7d")
    beyond = window("2025-03-10T09:00:01Z", "2025-03-10T10:00:00Z")
    assert check_requested_time(spec_policy, None, beyond, CREATED).message == (
        "the window starts more than 7d ahead (2025-03-10T09:00:01Z)"
    )


def test_a_window_that_ends_where_it_starts_is_invalid() -> None:
    empty = window("2025-03-03T12:00:00Z", "2025-03-03T12:00:00Z")
    decision = check_requested_time(rules(allowScheduled=True), None, empty, CREATED)
    assert decision == Decision.deny(RejectionReason.INVALID_WINDOW, "the window ends before it starts")


def test_a_window_ending_at_this_very_moment_is_over() -> None:
    ending = window("2025-03-03T08:00:00Z", "2025-03-03T09:00:00Z")
    decision = check_requested_time(rules(), None, ending, CREATED)
    assert decision == Decision.deny(RejectionReason.INVALID_WINDOW, "the window ended at 2025-03-03T09:00:00Z")


def test_only_the_part_of_a_window_still_ahead_counts_against_the_maximum() -> None:
    spec_policy = rules(maxDuration="7h")
    began_earlier = window("2025-03-03T07:00:00Z", "2025-03-03T16:00:00Z")  # 9 h long, 7 h of it still ahead
    assert check_requested_time(spec_policy, None, began_earlier, CREATED).allowed
    one_second_more = window("2025-03-03T07:00:00Z", "2025-03-03T16:00:01Z")
    assert check_requested_time(spec_policy, None, one_second_more, CREATED) == Decision.deny(
        RejectionReason.DURATION_OVER_MAXIMUM, "7h1s is longer than the Safe allows (7h)"
    )


def test_a_window_over_the_maximum_is_refused_again_when_approved() -> None:
    requested = window("2025-03-03T10:00:00Z", "2025-03-03T13:00:00Z")
    result = grant_window(rules(maxDuration="2h"), duration=None, window=requested, activation=APPROVED)
    assert result.window is None
    assert result.decision == Decision.deny(
        RejectionReason.DURATION_OVER_MAXIMUM, "3h is longer than the Safe allows (2h)"
    )


def test_a_duration_that_asks_for_nothing_is_refused_with_the_parsers_words() -> None:
    expected = Decision.deny(RejectionReason.INVALID_WINDOW, "invalid duration '0m': it must be longer than zero")
    assert check_requested_time(rules(), "0m", None, CREATED) == expected
    assert grant_window(rules(), duration="0m", window=None, activation=APPROVED).decision == expected


def test_asking_for_both_a_duration_and_a_window_is_refused_when_asked_and_when_approved() -> None:
    both = window("2025-03-03T10:00:00Z", "2025-03-03T11:00:00Z")
    expected = Decision.deny(RejectionReason.INVALID_WINDOW, "give either duration or window, not both")
    assert check_requested_time(rules(), "1h", both, CREATED) == expected
    assert grant_window(rules(), duration="1h", window=both, activation=APPROVED) == WindowResult(expected)


def test_a_narrowing_to_the_very_start_of_access_leaves_nothing() -> None:
    result = grant_window(rules(), duration="1h", window=None, activation=APPROVED, narrowings=[APPROVED])
    assert result.decision == Decision.deny(
        RejectionReason.INVALID_WINDOW,
        "nothing is left of the window: it would end at 2025-03-03T09:40:00Z, "
        "before access starts at 2025-03-03T09:40:00Z",
    )


def test_a_computed_window_is_allowed_until_its_end() -> None:
    end = at("2025-03-03T11:10:00Z")
    result = grant_window(rules(), duration="90m", window=None, activation=APPROVED)
    assert result == WindowResult(Decision.allow(until=end), AccessWindow(APPROVED, end))
