"""The rotation protocol's decisions: what to finish after an interruption, when a rotation is due,
when delivery waits, and the backoff."""

from __future__ import annotations

from datetime import timedelta

import pytest

from strongroom.api.account import Account
from strongroom.rotation.protocol import (
    Action,
    Works,
    backoff,
    delivery_held,
    due_on_release,
    may_attempt,
    next_due,
    next_scheduled,
    recover,
    rotation_reason,
)
from tests.policy.builders import account, at, grant


@pytest.mark.parametrize(("works", "action"), [
    (Works.NEW, Action.COMMIT), (Works.OLD, Action.ROLL_BACK), (Works.UNKNOWN, Action.WAIT)])
def test_an_interrupted_rotation_is_finished_by_what_the_target_accepts(works: Works, action: Action) -> None:
    assert recover(works) is action


def rotating(rotation: dict, status: dict | None = None) -> Account:
    acct = account(rotation=rotation)
    acct.metadata["creationTimestamp"] = "2025-03-01T00:00:00Z"
    return acct.model_copy(update={"status": acct.status.model_validate({"rotation": status} if status else {})})


def ended(name: str, at_text: str, phase: str = "Released"):
    g = grant(name, "alice", "2025-03-03T09:00:00Z", "2025-03-03T12:00:00Z", phase=phase, account="db")
    return g.model_copy(update={"status": g.status.model_copy(update={"ended_at": at(at_text)})})


def holding(name: str, user: str = "erin", phase: str = "Active"):
    return grant(name, user, "2025-03-03T11:00:00Z", "2025-03-03T13:00:00Z", phase=phase, account="db")


NOW = at("2025-03-03T12:00:00Z")


def test_no_rotation_spec_means_never_due() -> None:
    assert rotation_reason(account(), [ended("g", "2025-03-03T11:00:00Z")], NOW) is None


def test_a_grant_ending_after_the_last_rotation_makes_it_due_on_release_only() -> None:
    grants = [ended("g", "2025-03-03T11:00:00Z")]
    assert rotation_reason(rotating({"onRelease": True}), grants, NOW) == "a grant ended"
    assert rotation_reason(rotating({"onRelease": False}), grants, NOW) is None
    done = rotating({"onRelease": True}, {"lastRotated": "2025-03-03T11:00:05Z"})
    assert rotation_reason(done, grants, NOW) is None
    active = [grant("a", "alice", "2025-03-03T09:00:00Z", "2025-03-03T13:00:00Z", account="db")]
    assert rotation_reason(rotating({"onRelease": True}), active, NOW) is None


def test_the_schedule_counts_from_the_last_rotation_or_creation() -> None:
    assert rotation_reason(rotating({"schedule": "24h"}), [], NOW) == "scheduled"
    recent = rotating({"schedule": "24h"}, {"lastRotated": "2025-03-03T00:00:00Z"})
    assert rotation_reason(recent, [], NOW) is None
    assert next_scheduled(recent) == at("2025-03-04T00:00:00Z")


def test_a_request_newer_than_the_last_rotation_makes_it_due() -> None:
    asked = rotating({"requestedAt": "2025-03-03T11:59:00Z"}, {"lastRotated": "2025-03-03T11:00:00Z"})
    assert rotation_reason(asked, [], NOW) == "requested"
    served = rotating({"requestedAt": "2025-03-03T10:00:00Z"}, {"lastRotated": "2025-03-03T11:00:00Z"})
    assert rotation_reason(served, [], NOW) is None


def test_a_request_stamped_ahead_of_this_clock_is_due_when_it_comes_and_not_before() -> None:
    ahead = rotating({"requestedAt": "2025-03-03T12:05:00Z"})
    assert rotation_reason(ahead, [], NOW) is None
    assert next_due(ahead, NOW) == at("2025-03-03T12:05:00Z")
    assert rotation_reason(ahead, [], at("2025-03-03T12:05:00Z")) == "requested"
    done = rotating({"requestedAt": "2025-03-03T12:05:00Z"}, {"lastRotated": "2025-03-03T12:05:00Z"})
    assert rotation_reason(done, [], at("2025-03-03T12:10:00Z")) is None
    assert next_due(done, at("2025-03-03T12:10:00Z")) is None


def test_the_next_moment_due_is_the_earliest_still_ahead() -> None:
    both = rotating({"schedule": "24h", "requestedAt": "2025-03-03T12:05:00Z"}, {"lastRotated": "2025-03-03T00:00:00Z"})
    assert next_due(both, NOW) == at("2025-03-03T12:05:00Z")
    assert next_due(both, at("2025-03-03T12:06:00Z")) == at("2025-03-04T00:00:00Z")
    overdue = rotating({"schedule": "1h"}, {"lastRotated": "2025-03-03T10:00:00Z"})
    assert next_due(overdue, NOW) is None, "a moment already past is due now, not a moment to wait for"


def test_a_rotation_owed_on_release_waits_while_another_holder_is_active() -> None:
    acct = rotating({"onRelease": True}, {"lastRotated": "2025-03-03T10:00:00Z"})
    released = ended("g", "2025-03-03T11:30:00Z")
    assert not due_on_release(acct, [released, holding("h")])
    assert rotation_reason(acct, [released, holding("h")], NOW) is None
    assert due_on_release(acct, [released, holding("h", phase="Expired")])
    assert rotation_reason(acct, [released, holding("h", phase="Expired")], NOW) == "a grant ended"
    # A Grant not yet delivered (no phase, or Scheduled) is nobody using the password.
    assert due_on_release(acct, [released, holding("h", phase="Scheduled")])


def test_a_new_holder_shares_the_password_while_another_holds_it_and_waits_when_nobody_does() -> None:
    acct = rotating({"onRelease": True}, {"lastRotated": "2025-03-03T10:00:00Z"})
    released = ended("g", "2025-03-03T11:30:00Z")
    newcomer = holding("n", user="alice", phase="Scheduled")
    assert not delivery_held(acct, [released, holding("h"), newcomer], pending=False)
    assert delivery_held(acct, [released, newcomer], pending=False)
    assert delivery_held(acct, [released, holding("h"), newcomer], pending=True), "a pending rotation holds all"


def test_delivery_waits_while_pending_or_owed_to_an_ended_grant() -> None:
    acct = rotating({"onRelease": True}, {"lastRotated": "2025-03-03T10:00:00Z"})
    assert delivery_held(acct, [ended("g", "2025-03-03T11:00:00Z")], pending=False)
    assert delivery_held(acct, [], pending=True)
    assert not delivery_held(acct, [ended("g", "2025-03-03T09:00:00Z")], pending=False)


def test_backoff_doubles_up_to_ten_minutes_and_gates_attempts() -> None:
    assert backoff(0) == timedelta(0)
    assert [backoff(n).total_seconds() for n in (1, 2, 3)] == [2, 4, 8]
    assert backoff(50) == timedelta(minutes=10)
    failing = rotating({"onRelease": True}, {"lastAttempt": "2025-03-03T11:59:58Z", "failures": 3})
    assert not may_attempt(failing, NOW)
    assert may_attempt(failing, NOW + timedelta(seconds=7))
