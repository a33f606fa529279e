"""A Grant issued directly meets the limits a request meets: eligibility, maxDuration, check-out, per-user."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from strongroom.api.accessrequest import RejectionReason
from strongroom.api.grant import Grant
from strongroom.api.safe import Safe
from strongroom.policy.decision import Decision
from strongroom.policy.direct_grants import check_direct_grant

from .builders import at, grant, safe_object

NOW = at("2025-03-03T10:00:00Z")
DIRECT = grant("direct-1", "alice", "2025-03-03T10:00:00Z", "2025-03-03T12:00:00Z", account="db")


def rules(**policy: Any) -> Safe:
    return safe_object(policy={"allowedNamespaces": {"names": ["team"]}, **policy})


def check(
    safe: Safe,
    issued: Grant = DIRECT,
    *,
    account_grants: Sequence[Grant] = (),
    user_grants: Sequence[Grant] = (),
    labels: dict[str, str] | None = None,
) -> Decision:
    return check_direct_grant(
        safe, issued, labels or {}, NOW, account_grants=account_grants, user_grants=user_grants
    )


def test_a_direct_grant_to_a_member_is_allowed_for_as_long_as_the_membership_lasts() -> None:
    safe = safe_object(members=[{"users": ["alice"], "validUntil": "2025-03-05T00:00:00Z"}])
    decision = check(safe)
    assert decision == Decision.allow("alice is a member of the Safe", until=at("2025-03-05T00:00:00Z"))


def test_a_direct_grant_to_someone_who_is_not_a_member_is_refused_unless_the_safe_allows_standing_grants() -> None:
    stranger = grant("direct-1", "mallory", "2025-03-03T10:00:00Z", "2025-03-03T12:00:00Z", account="db")
    assert check(rules(), stranger).reason == RejectionReason.NOT_A_MEMBER
    standing = check(rules(allowStandingGrants=True), stranger)
    assert standing.allowed and standing.until is None


def test_a_standing_grant_still_goes_only_to_a_namespace_the_safe_delivers_to() -> None:
    elsewhere = grant("direct-1", "mallory", "2025-03-03T10:00:00Z", "2025-03-03T12:00:00Z", namespace="other")
    decision = check(rules(allowStandingGrants=True), elsewhere)
    assert decision.reason == RejectionReason.NAMESPACE_NOT_ALLOWED
    labelled = safe_object(
        policy={"allowedNamespaces": {"selector": {"matchLabels": {"env": "prod"}}}, "allowStandingGrants": True}
    )
    assert check(labelled, elsewhere, labels={"env": "prod"}).allowed
    assert check(labelled, elsewhere, labels={"env": "dev"}).reason == RejectionReason.NAMESPACE_NOT_ALLOWED


def test_a_blocked_safe_refuses_a_direct_grant() -> None:
    decision = check(safe_object(blocked=True, blockedReason="incident 7"))
    assert (decision.reason, decision.message) == (RejectionReason.SAFE_BLOCKED, "the Safe is blocked: incident 7")


def test_a_direct_grant_starting_later_is_judged_at_its_start() -> None:
    safe = safe_object(members=[{"users": ["alice"], "validFrom": "2025-03-04T00:00:00Z"}])
    tomorrow = grant("direct-1", "alice", "2025-03-04T09:00:00Z", "2025-03-04T10:00:00Z", phase="Scheduled")
    assert check(safe, tomorrow).allowed
    assert check(safe).reason == RejectionReason.NOT_A_MEMBER


def test_a_direct_grant_longer_than_max_duration_is_refused_and_one_of_exactly_the_maximum_is_not() -> None:
    refused = check(rules(maxDuration="1h59m"))
    assert (refused.reason, refused.message) == (
        RejectionReason.DURATION_OVER_MAXIMUM,
        "the grant lasts until 2025-03-03T12:00:00Z, longer than the Safe's maxDuration 1h59m",
    )
    assert check(rules(maxDuration="2h")).allowed


def test_a_safe_whose_schedule_cannot_be_evaluated_refuses_as_an_invalid_policy() -> None:
    hours = [{"days": ["Mon"], "from": "08:00", "to": "18:00"}]
    broken = {"name": "mars", "timeZone": "Mars/Olympus", "windows": hours}
    safe = safe_object(members=[{"users": ["alice"], "schedule": "mars"}], schedules=[broken])
    assert check(safe).reason == RejectionReason.INVALID_POLICY


def test_exclusive_checkout_refuses_a_direct_grant_over_another_live_grant_but_not_over_itself() -> None:
    exclusive = rules(exclusiveCheckout=True)
    bobs = grant("bobs", "bob", "2025-03-03T11:00:00Z", "2025-03-03T13:00:00Z", account="db", phase="Scheduled")
    refused = check(exclusive, account_grants=[DIRECT, bobs])
    assert refused.reason == RejectionReason.ACCOUNT_CHECKED_OUT
    assert refused.message == "the account is checked out by bob until 2025-03-03T13:00:00Z"
    assert check(exclusive, account_grants=[DIRECT]).allowed


def test_the_per_user_limit_counts_the_subjects_other_live_grants_but_not_this_one() -> None:
    limited = rules(maxActiveGrantsPerUser=1)
    other = grant("other", "alice", "2025-03-03T09:00:00Z", "2025-03-03T11:00:00Z", account="cache")
    refused = check(limited, user_grants=[DIRECT, other])
    assert refused.reason == RejectionReason.TOO_MANY_ACTIVE_GRANTS
    assert refused.message == "alice already holds 1 grant(s) of this Safe; it allows 1 at once"
    assert check(limited, user_grants=[DIRECT]).allowed


def test_check_out_is_asked_before_the_per_user_limit() -> None:
    both = rules(exclusiveCheckout=True, maxActiveGrantsPerUser=1)
    bobs = grant("bobs", "bob", "2025-03-03T09:00:00Z", "2025-03-03T11:00:00Z", account="db")
    other = grant("other", "alice", "2025-03-03T09:00:00Z", "2025-03-03T11:00:00Z", account="cache")
    assert check(both, account_grants=[bobs], user_grants=[other]).reason == RejectionReason.ACCOUNT_CHECKED_OUT
    assert check(both, user_grants=[other]).reason == RejectionReason.TOO_MANY_ACTIVE_GRANTS
