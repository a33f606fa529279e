"""The decision ladder for a Pending AccessRequest, and the check that revokes a grant."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from strongroom.api.accessrequest import AccessRequest, RejectionReason
from strongroom.api.account import Account
from strongroom.api.common import ConditionStatus, find_condition
from strongroom.api.grant import Grant
from strongroom.api.phases import AccessRequestPhase as Phase
from strongroom.api.safe import Safe
from strongroom.policy.policyhash import policy_hash
from strongroom.policy.request_decision import RequestFacts, RequestOutcome, decide_pending, eligibility_lost
from strongroom.policy.verdicts import VERIFIED, Unverified, Verdict

from .builders import access_request, account, at, grant, safe_object

CREATED = "2025-03-03T10:00:00Z"  # a Monday; 11:00 in Berlin
NOW = at("2025-03-03T10:10:00Z")
ACCOUNT = account()
SAFE = safe_object()
OFFICE = {
    "name": "office",
    "timeZone": "Europe/Berlin",
    "windows": [{"days": ["Mon", "Tue", "Wed", "Thu", "Fri"], "from": "08:00", "to": "18:00"}],
}
MISMATCH = Verdict(False, Unverified.MISMATCH)


def reviewed(*entries: tuple[str, str], **spec: object) -> AccessRequest:
    """A request with reviews (user, decision), made at 10:05."""
    reviews = [{"user": user, "decision": decision, "time": "2025-03-03T10:05:00Z"} for user, decision in entries]
    return access_request(reviews=reviews, **spec)


def decide(
    request: AccessRequest | None = None,
    *,
    acct: Account | None = ACCOUNT,
    safe: Safe | None = SAFE,
    labels: Mapping[str, str] | None = None,
    requester_verdict: Verdict = VERIFIED,
    review_verdicts: Mapping[str, Verdict] | None = None,
    account_grants: Sequence[Grant] = (),
    requester_grants: Sequence[Grant] = (),
    now: datetime = NOW,
) -> RequestOutcome:
    request = request or access_request()
    verdicts = {r.user: VERIFIED for r in request.status.reviews} if review_verdicts is None else review_verdicts
    return decide_pending(
        RequestFacts(
            request=request,
            account=acct,
            safe=safe,
            namespace_labels=labels or {},
            requester_verdict=requester_verdict,
            review_verdicts=verdicts,
            account_grants=account_grants,
            requester_grants=requester_grants,
            now=now,
        )
    )


def rules(**policy: object) -> Safe:
    return safe_object(policy={"allowedNamespaces": {"names": ["team"]}, **policy})


def condition(outcome: RequestOutcome, type_: str) -> tuple[str, str, str]:
    found = find_condition(outcome.conditions, type_)
    assert found is not None, f"no {type_} condition"
    return found.status, found.reason, found.message


def rejected(outcome: RequestOutcome, reason: RejectionReason) -> RequestOutcome:
    assert (outcome.phase, outcome.reason) == (Phase.REJECTED, reason), outcome.message
    assert outcome.window is None and outcome.next_check is None
    # Past the requester's seal, both seal conditions are reported whatever the outcome.
    sealed = reason != RejectionReason.IDENTITY_NOT_VERIFIED
    assert [c.type for c in outcome.conditions] == ["UnverifiedRequester", "UnverifiedReview"][: 2 if sealed else 1]
    return outcome


# --- approval -----------------------------------------------------------------------------------


def test_a_safe_that_requires_no_approval_approves_at_once_for_the_default_duration() -> None:
    safe = rules(requiredApprovals=0)
    outcome = decide(safe=safe)
    assert (outcome.phase, outcome.reason) == (Phase.APPROVED, "Approved")
    assert outcome.window is not None
    assert (outcome.window.not_before, outcome.window.not_after) == (NOW, NOW + timedelta(minutes=60))
    assert (outcome.approvals_required, outcome.approvals_received) == (0, 0)
    assert outcome.policy_hash == policy_hash(safe.spec)
    assert outcome.next_check == outcome.window.not_after
    assert "alice's request for account vault/db (safe prod-db) is approved automatically" in outcome.message


def test_two_of_three_approvers_approve_only_with_the_second_distinct_approver() -> None:
    safe = rules(requiredApprovals=2)
    one = decide(reviewed(("bob", "Approve")), safe=safe)
    assert (one.phase, one.reason) == (Phase.PENDING, "AwaitingApproval")
    assert (one.approvals_required, one.approvals_received) == (2, 1)
    assert one.message.startswith("1 of 2 approvals; waiting for approvers of safe prod-db")
    assert one.window is None
    assert one.next_check == at("2025-03-04T10:00:00Z")  # the approval deadline

    same_twice = decide(reviewed(("bob", "Approve"), ("bob", "Approve")), safe=safe)
    assert same_twice.phase == Phase.PENDING and same_twice.approvals_received == 1

    two = decide(reviewed(("bob", "Approve"), ("carol", "Approve")), safe=safe)
    assert two.phase == Phase.APPROVED and two.approvals_received == 2
    assert "approved by bob, carol" in two.message


def test_the_requesters_own_review_is_never_counted_even_when_they_are_an_approver() -> None:
    safe = safe_object(approvers={"users": ["alice", "bob"]})
    outcome = decide(reviewed(("alice", "Approve")), safe=safe)
    assert outcome.phase == Phase.PENDING
    assert (outcome.approvals_required, outcome.approvals_received) == (1, 0)


def test_a_review_whose_seal_fails_is_ignored_and_named_in_a_condition() -> None:
    request = reviewed(("bob", "Approve"), ("carol", "Approve"))
    outcome = decide(request, safe=rules(requiredApprovals=2), review_verdicts={"bob": MISMATCH, "carol": VERIFIED})
    assert outcome.phase == Phase.PENDING and outcome.approvals_received == 1
    status, reason, message = condition(outcome, "UnverifiedReview")
    assert (status, reason) == (ConditionStatus.TRUE, "SignatureMismatch")
    assert "bob" in message and "carol" not in message and "does not match" in message


def test_a_review_the_shell_found_no_verdict_for_counts_as_unsigned() -> None:
    outcome = decide(reviewed(("bob", "Approve")), review_verdicts={})
    assert outcome.phase == Phase.PENDING and outcome.approvals_received == 0
    assert condition(outcome, "UnverifiedReview")[:2] == (ConditionStatus.TRUE, "SignatureMissing")


def test_when_every_seal_holds_both_conditions_are_false_as_of_now() -> None:
    outcome = decide(reviewed(("bob", "Approve")))
    assert outcome.phase == Phase.APPROVED
    assert {c.last_transition_time for c in outcome.conditions} == {NOW}
    assert condition(outcome, "UnverifiedRequester")[0] == ConditionStatus.FALSE
    assert condition(outcome, "UnverifiedReview")[0] == ConditionStatus.FALSE


def test_one_deny_ends_the_request_as_denied_whatever_the_approvals() -> None:
    outcome = decide(reviewed(("bob", "Approve"), ("carol", "Deny")), safe=rules(requiredApprovals=1))
    assert (outcome.phase, outcome.reason) == (Phase.DENIED, "Denied")
    assert "is denied by carol" in outcome.message
    assert outcome.window is None and outcome.next_check is None
    assert outcome.approvals_received == 1


def test_a_request_still_waiting_at_its_approval_timeout_times_out() -> None:
    safe = rules(approvalTimeout="1h")
    before = decide(safe=safe, now=at("2025-03-03T10:59:59Z"))
    assert before.phase == Phase.PENDING and before.next_check == at("2025-03-03T11:00:00Z")
    outcome = decide(safe=safe, now=at("2025-03-03T11:00:00Z"))
    assert (outcome.phase, outcome.reason) == (Phase.TIMED_OUT, "TimedOut")
    assert "timed out at 2025-03-03T11:00:00Z with 0 of 1 approvals" in outcome.message
    assert outcome.next_check is None


def test_approvals_made_before_the_timeout_stand_when_the_operator_sees_them_late() -> None:
    safe = rules(approvalTimeout="1h")
    late = at("2025-03-03T11:30:00Z")
    outcome = decide(reviewed(("bob", "Approve")), safe=safe, now=late)
    assert outcome.phase == Phase.APPROVED
    assert outcome.window is not None and outcome.window.not_before == late


def test_an_approval_made_after_the_timeout_is_not_counted() -> None:
    request = access_request(
        reviews=[{"user": "bob", "decision": "Approve", "time": "2025-03-03T11:05:00Z"}],
    )
    outcome = decide(request, safe=rules(approvalTimeout="1h"), now=at("2025-03-03T11:10:00Z"))
    assert outcome.phase == Phase.TIMED_OUT


def test_an_approver_narrowing_cuts_the_window() -> None:
    request = access_request(
        duration="2h",
        reviews=[
            {"user": "bob", "decision": "Approve", "time": "2025-03-03T10:05:00Z", "notAfter": "2025-03-03T10:40:00Z"}
        ],
    )
    outcome = decide(request)
    assert outcome.window is not None
    assert (outcome.window.not_before, outcome.window.not_after) == (NOW, at("2025-03-03T10:40:00Z"))


def test_a_narrowing_that_leaves_nothing_rejects_the_request() -> None:
    request = access_request(
        reviews=[
            {"user": "bob", "decision": "Approve", "time": "2025-03-03T10:05:00Z", "notAfter": "2025-03-03T10:06:00Z"}
        ],
    )
    outcome = rejected(decide(request), RejectionReason.INVALID_WINDOW)
    assert outcome.approvals_received == 1


def test_a_scheduled_window_is_approved_to_start_later_and_wakes_the_operator_then() -> None:
    safe = rules(requiredApprovals=0, allowScheduled=True)
    request = access_request(window={"start": "2025-03-03T12:00:00Z", "end": "2025-03-03T13:00:00Z"})
    outcome = decide(request, safe=safe)
    assert outcome.window is not None
    assert (outcome.window.not_before, outcome.window.not_after) == (
        at("2025-03-03T12:00:00Z"),
        at("2025-03-03T13:00:00Z"),
    )
    assert outcome.next_check == at("2025-03-03T12:00:00Z")


def test_eligibility_of_a_scheduled_window_is_judged_at_its_start() -> None:
    safe = safe_object(
        members=[{"users": ["alice"], "validFrom": "2025-03-03T11:00:00Z"}],
        policy={"allowedNamespaces": {"names": ["team"]}, "requiredApprovals": 0, "allowScheduled": True},
    )
    request = access_request(window={"start": "2025-03-03T12:00:00Z", "end": "2025-03-03T13:00:00Z"})
    assert decide(request, safe=safe).phase == Phase.APPROVED
    rejected(decide(access_request(), safe=safe), RejectionReason.NOT_A_MEMBER)


def test_a_scheduled_member_gets_access_only_to_the_end_of_their_window() -> None:
    safe = safe_object(
        members=[{"users": ["alice"], "schedule": "office"}],
        schedules=[OFFICE],
        policy={"allowedNamespaces": {"names": ["team"]}, "requiredApprovals": 0},
    )
    outcome = decide(safe=safe, now=at("2025-03-03T16:30:00Z"))  # 17:30 in Berlin
    assert outcome.window is not None and outcome.window.not_after == at("2025-03-03T17:00:00Z")


def test_a_pending_request_wakes_when_the_requesters_membership_ends_before_the_deadline() -> None:
    safe = safe_object(members=[{"users": ["alice"], "validUntil": "2025-03-03T12:00:00Z"}])
    assert decide(safe=safe).next_check == at("2025-03-03T12:00:00Z")


# --- check-out and limits -----------------------------------------------------------------------


def test_exclusive_checkout_refuses_an_account_someone_else_holds() -> None:
    held = [grant("bobs", "bob", "2025-03-03T09:00:00Z", "2025-03-03T12:00:00Z", account="db")]
    outcome = decide(reviewed(("carol", "Approve")), safe=rules(exclusiveCheckout=True), account_grants=held)
    rejected(outcome, RejectionReason.ACCOUNT_CHECKED_OUT)
    assert "checked out by bob" in outcome.message


def test_the_requests_own_grant_does_not_hold_the_account_against_it() -> None:
    own = [
        grant("req-1", "alice", "2025-03-03T10:10:00Z", "2025-03-03T11:10:00Z", account="db", source_uid="uid-req-1")
    ]
    outcome = decide(
        reviewed(("carol", "Approve")), safe=rules(exclusiveCheckout=True), account_grants=own, requester_grants=own
    )
    assert outcome.phase == Phase.APPROVED


def test_a_requester_at_max_active_grants_per_user_is_rejected() -> None:
    held = [grant("other", "alice", "2025-03-03T09:00:00Z", "2025-03-03T12:00:00Z", account="cache")]
    outcome = decide(reviewed(("bob", "Approve")), safe=rules(maxActiveGrantsPerUser=1), requester_grants=held)
    rejected(outcome, RejectionReason.TOO_MANY_ACTIVE_GRANTS)


# --- rejections before any review is counted -----------------------------------------------------


def test_an_unverified_requester_is_rejected_and_nothing_of_the_request_is_counted() -> None:
    outcome = decide(reviewed(("bob", "Approve")), requester_verdict=Verdict(False, Unverified.MISSING))
    rejected(outcome, RejectionReason.IDENTITY_NOT_VERIFIED)
    assert outcome.approvals_received == 0
    assert [c.type for c in outcome.conditions] == ["UnverifiedRequester"]
    assert condition(outcome, "UnverifiedRequester")[:2] == (ConditionStatus.TRUE, "SignatureMissing")


def test_a_request_without_a_stamped_requester_is_not_verified_whatever_the_verdict() -> None:
    outcome = decide(access_request(requester=None))
    rejected(outcome, RejectionReason.IDENTITY_NOT_VERIFIED)


def test_a_missing_account_is_rejected_as_unknown() -> None:
    outcome = rejected(decide(acct=None, safe=None), RejectionReason.UNKNOWN_ACCOUNT)
    assert "account vault/db does not exist" in outcome.message
    assert outcome.policy_hash is None and outcome.approvals_required == 0


def test_a_missing_safe_is_rejected_as_an_invalid_policy() -> None:
    outcome = rejected(decide(safe=None), RejectionReason.INVALID_POLICY)
    assert "safe prod-db of account vault/db does not exist" in outcome.message


def test_a_blocked_safe_rejects_every_request_with_its_reason() -> None:
    outcome = decide(safe=safe_object(blocked=True, blockedReason="incident 7"))
    assert "incident 7" in rejected(outcome, RejectionReason.SAFE_BLOCKED).message


def test_someone_who_is_not_a_member_is_rejected() -> None:
    rejected(decide(access_request(requester="mallory")), RejectionReason.NOT_A_MEMBER)


def test_a_member_outside_their_schedule_is_rejected() -> None:
    safe = safe_object(members=[{"users": ["alice"], "schedule": "office"}], schedules=[OFFICE])
    rejected(decide(safe=safe, now=at("2025-03-03T17:00:00Z")), RejectionReason.OUTSIDE_SCHEDULE)


def test_a_namespace_the_safe_does_not_deliver_to_is_rejected() -> None:
    rejected(decide(access_request(namespace="elsewhere")), RejectionReason.NAMESPACE_NOT_ALLOWED)


def test_a_safe_with_an_unknown_time_zone_rejects_as_an_invalid_policy() -> None:
    broken = {**OFFICE, "timeZone": "Mars/Olympus"}
    safe = safe_object(members=[{"users": ["alice"], "schedule": "office"}], schedules=[broken])
    outcome = rejected(decide(safe=safe), RejectionReason.INVALID_POLICY)
    assert "Mars/Olympus" in outcome.message


def test_a_missing_reason_or_ticket_is_rejected() -> None:
    rejected(decide(safe=rules(requireReason=True)), RejectionReason.REASON_REQUIRED)
    rejected(decide(access_request(reason="INC-7"), safe=rules(requireTicket=True)), RejectionReason.TICKET_REQUIRED)


def test_a_duration_over_the_maximum_is_rejected() -> None:
    outcome = decide(access_request(duration="3h"), safe=rules(maxDuration="2h"))
    rejected(outcome, RejectionReason.DURATION_OVER_MAXIMUM)


def test_a_later_window_is_rejected_where_the_safe_does_not_allow_scheduling() -> None:
    request = access_request(window={"start": "2025-03-03T12:00:00Z", "end": "2025-03-03T13:00:00Z"})
    rejected(decide(request), RejectionReason.SCHEDULED_NOT_ALLOWED)


# --- eligibility of a grant already issued ------------------------------------------------------


def active(user: str = "alice", groups: tuple[str, ...] = ()) -> Grant:
    return grant("req-1", user, "2025-03-03T10:00:00Z", "2025-03-03T11:00:00Z", account="db", groups=groups)


def test_a_grant_of_a_current_member_keeps_its_eligibility() -> None:
    assert eligibility_lost(SAFE, active(), {}, NOW).allowed
    assert eligibility_lost(SAFE, active("erin", groups=("dba",)), {}, NOW).allowed


def test_a_grant_loses_eligibility_when_the_safe_is_blocked_or_gone() -> None:
    blocked = safe_object(blocked=True, blockedReason="incident 7")
    assert eligibility_lost(blocked, active(), {}, NOW).reason == RejectionReason.SAFE_BLOCKED
    assert eligibility_lost(None, active(), {}, NOW).reason == RejectionReason.INVALID_POLICY


def test_a_grant_loses_eligibility_when_its_subject_is_no_longer_a_member() -> None:
    without_alice = safe_object(members=[{"groups": ["dba"]}])
    assert eligibility_lost(without_alice, active(), {}, NOW).reason == RejectionReason.NOT_A_MEMBER


def test_a_grant_loses_eligibility_when_its_namespace_is_no_longer_allowed() -> None:
    elsewhere = safe_object(policy={"allowedNamespaces": {"names": ["other"]}})
    assert eligibility_lost(elsewhere, active(), {}, NOW).reason == RejectionReason.NAMESPACE_NOT_ALLOWED


def test_a_scheduled_grant_is_judged_at_its_start_not_now() -> None:
    safe = safe_object(members=[{"users": ["alice"], "schedule": "office"}], schedules=[OFFICE])
    tomorrow = grant("req-1", "alice", "2025-03-04T08:00:00Z", "2025-03-04T09:00:00Z", phase="Scheduled")
    evening = at("2025-03-03T20:00:00Z")  # outside the office hours now
    assert eligibility_lost(safe, tomorrow, {}, evening).allowed
    assert eligibility_lost(safe, active(), {}, evening).reason == RejectionReason.OUTSIDE_SCHEDULE


def test_a_grant_keeps_its_eligibility_in_a_namespace_selected_by_its_labels() -> None:
    labelled = safe_object(policy={"allowedNamespaces": {"selector": {"matchLabels": {"env": "prod"}}}})
    assert eligibility_lost(labelled, active(), {"env": "prod"}, NOW).allowed
    assert eligibility_lost(labelled, active(), {"env": "dev"}, NOW).reason == RejectionReason.NAMESPACE_NOT_ALLOWED


def test_a_grant_whose_safe_is_gone_or_cannot_be_evaluated_loses_eligibility_as_an_invalid_policy() -> None:
    gone = eligibility_lost(None, active(), {}, NOW)
    assert gone.reason == RejectionReason.INVALID_POLICY
    assert gone.message == "the Safe of account vault/db no longer exists"
    broken = eligibility_lost(unevaluable_safe(), active(), {}, NOW)
    assert (broken.reason, broken.message) == (
        RejectionReason.INVALID_POLICY, "member schedule 'gone' is not one of the Safe's schedules"
    )


# --- what the outcome says --------------------------------------------------------------------------

SUBJECT = "alice's request for account vault/db (safe prod-db)"


def unevaluable_safe() -> Safe:
    """A Safe whose member names a schedule it does not define (the model refuses that; code can bypass it)."""
    spec = SAFE.spec.model_copy(update={"members": [SAFE.spec.members[0].model_copy(update={"schedule": "gone"})]})
    return SAFE.model_copy(update={"spec": spec})


def test_an_approved_request_names_its_approvers_and_lasts_the_duration_it_asked_for() -> None:
    outcome = decide(reviewed(("bob", "Approve"), duration="2h"))
    assert outcome.window is not None
    assert (outcome.window.not_before, outcome.window.not_after) == (NOW, at("2025-03-03T12:10:00Z"))
    assert outcome.approved_by == ("bob",)
    assert outcome.message == (
        f"{SUBJECT} is approved by bob: access from 2025-03-03T10:10:00Z until 2025-03-03T12:10:00Z"
    )


def test_a_scheduled_window_is_approved_for_its_whole_length_not_the_default_duration() -> None:
    request = access_request(window={"start": "2025-03-03T12:00:00Z", "end": "2025-03-03T14:00:00Z"})
    outcome = decide(request, safe=rules(requiredApprovals=0, allowScheduled=True))
    assert outcome.window is not None and outcome.window.not_after == at("2025-03-03T14:00:00Z")


def test_a_pending_request_wakes_when_its_requested_window_ends_before_the_deadline() -> None:
    request = access_request(window={"start": "2025-03-03T12:00:00Z", "end": "2025-03-03T13:00:00Z"})
    outcome = decide(request, safe=rules(allowScheduled=True))
    assert outcome.phase == Phase.PENDING and outcome.next_check == at("2025-03-03T13:00:00Z")


def test_a_timed_out_request_keeps_the_approvals_it_had_and_its_seal_conditions() -> None:
    safe = rules(requiredApprovals=2, approvalTimeout="1h")
    outcome = decide(reviewed(("bob", "Approve")), safe=safe, now=at("2025-03-03T11:00:00Z"))
    assert outcome.phase == Phase.TIMED_OUT
    assert (outcome.approvals_received, outcome.approved_by) == (1, ("bob",))
    assert outcome.message == f"{SUBJECT} timed out at 2025-03-03T11:00:00Z with 1 of 2 approvals"
    assert [c.type for c in outcome.conditions] == ["UnverifiedRequester", "UnverifiedReview"]


def test_a_denied_request_reports_its_seal_conditions_and_the_approvals_before_the_deny() -> None:
    outcome = decide(reviewed(("bob", "Approve"), ("carol", "Deny")), safe=rules(requiredApprovals=2))
    assert outcome.message == f"{SUBJECT} is denied by carol"
    assert outcome.approved_by == ("bob",)
    assert [c.type for c in outcome.conditions] == ["UnverifiedRequester", "UnverifiedReview"]


def test_a_request_refused_after_approval_keeps_its_approvals() -> None:
    held = [grant("bobs", "bob", "2025-03-03T09:00:00Z", "2025-03-03T12:00:00Z", account="db")]
    outcome = decide(reviewed(("carol", "Approve")), safe=rules(exclusiveCheckout=True), account_grants=held)
    rejected(outcome, RejectionReason.ACCOUNT_CHECKED_OUT)
    assert (outcome.approvals_received, outcome.approved_by) == (1, ("carol",))
    assert outcome.message == f"{SUBJECT} is rejected: the account is checked out by bob until 2025-03-03T12:00:00Z"


def test_a_narrowing_that_leaves_nothing_keeps_the_approvals_and_the_seal_conditions() -> None:
    request = access_request(
        reviews=[
            {"user": "bob", "decision": "Approve", "time": "2025-03-03T10:05:00Z", "notAfter": "2025-03-03T10:06:00Z"}
        ],
    )
    outcome = rejected(decide(request), RejectionReason.INVALID_WINDOW)
    assert outcome.approved_by == ("bob",)


def test_the_requests_own_grant_does_not_count_against_its_per_user_limit_but_a_namesakes_does() -> None:
    safe = rules(maxActiveGrantsPerUser=1)
    times = ("2025-03-03T10:10:00Z", "2025-03-03T11:10:00Z")
    own = [grant("req-1", "alice", *times, account="db", source_uid="uid-req-1")]
    assert decide(reviewed(("bob", "Approve")), safe=safe, requester_grants=own).phase == Phase.APPROVED
    namesake = [grant("req-1", "alice", *times, account="db", source_uid="uid-of-an-earlier-req-1")]
    outcome = decide(reviewed(("bob", "Approve")), safe=safe, requester_grants=namesake)
    rejected(outcome, RejectionReason.TOO_MANY_ACTIVE_GRANTS)


def test_a_namesake_of_the_requests_grant_holds_the_account_against_it() -> None:
    namesake = [grant("req-1", "bob", "2025-03-03T10:00:00Z", "2025-03-03T11:00:00Z", account="db", source_uid="x")]
    outcome = decide(reviewed(("carol", "Approve")), safe=rules(exclusiveCheckout=True), account_grants=namesake)
    rejected(outcome, RejectionReason.ACCOUNT_CHECKED_OUT)


def test_a_safe_whose_default_exceeds_its_maximum_rejects_every_request_as_an_invalid_policy() -> None:
    outcome = decide(reviewed(("bob", "Approve")), safe=rules(defaultDuration="3h", maxDuration="2h"))
    rejected(outcome, RejectionReason.INVALID_POLICY)
    assert outcome.message == (
        f"{SUBJECT} is rejected: the Safe cannot be evaluated: defaultDuration 3h is longer than maxDuration 2h"
    )


def test_a_safe_that_fails_while_deciding_rejects_as_an_invalid_policy_with_its_error() -> None:
    outcome = rejected(decide(reviewed(("bob", "Approve")), safe=unevaluable_safe()), RejectionReason.INVALID_POLICY)
    assert outcome.message == f"{SUBJECT} is rejected: member schedule 'gone' is not one of the Safe's schedules"
    assert outcome.approvals_required == 1 and outcome.policy_hash == policy_hash(unevaluable_safe().spec)


def test_a_request_in_a_namespace_selected_by_its_labels_is_approved_and_others_are_not() -> None:
    labelled = safe_object(policy={"allowedNamespaces": {"selector": {"matchLabels": {"env": "prod"}}}})
    assert decide(reviewed(("bob", "Approve")), safe=labelled, labels={"env": "prod"}).phase == Phase.APPROVED
    rejected(decide(safe=labelled, labels={"env": "dev"}), RejectionReason.NAMESPACE_NOT_ALLOWED)


def test_a_request_with_the_reason_and_ticket_the_safe_requires_is_approved() -> None:
    request = reviewed(("bob", "Approve"), reason="INC-7 cleanup", ticket="CHG-1")
    assert decide(request, safe=rules(requireReason=True, requireTicket=True)).phase == Phase.APPROVED


def test_a_missing_account_is_named_in_a_message_without_a_safe() -> None:
    outcome = rejected(decide(acct=None, safe=None), RejectionReason.UNKNOWN_ACCOUNT)
    assert outcome.message == "alice's request for account vault/db is rejected: account vault/db does not exist"


def test_conditions_record_the_requests_generation_when_it_has_one() -> None:
    request = reviewed(("bob", "Approve"))
    fourth = request.model_copy(update={"metadata": {**request.metadata, "generation": 4}})
    assert {c.observed_generation for c in decide(fourth).conditions} == {4}
    assert {c.observed_generation for c in decide(request).conditions} == {None}


def test_when_every_seal_holds_the_conditions_say_so_in_words() -> None:
    outcome = decide(reviewed(("bob", "Approve")))
    assert condition(outcome, "UnverifiedRequester") == (
        ConditionStatus.FALSE, "SignatureVerified", "requester alice: signature verified"
    )
    assert condition(outcome, "UnverifiedReview") == (
        ConditionStatus.FALSE, "SignaturesVerified", "no review was ignored for its seal"
    )


def test_an_unstamped_request_is_rejected_without_calling_anyone_its_requester() -> None:
    outcome = rejected(decide(access_request(requester=None)), RejectionReason.IDENTITY_NOT_VERIFIED)
    no_seal = "no signature: it was not admitted through Strongroom's webhook"
    assert outcome.message == (
        "the request for account vault/db is rejected: its requester is not verified "
        f"(claims (none stamped)): {no_seal}"
    )
    assert condition(outcome, "UnverifiedRequester") == (
        ConditionStatus.TRUE, "SignatureMissing", f"requester not verified (claims (none stamped)): {no_seal}"
    )


def test_a_stamped_requester_whose_seal_fails_is_only_said_to_claim_the_name() -> None:
    outcome = rejected(decide(requester_verdict=MISMATCH), RejectionReason.IDENTITY_NOT_VERIFIED)
    altered = "the signature does not match: the identity or the object was altered"
    assert outcome.message == (
        f"the request for account vault/db is rejected: its requester is not verified (claims alice): {altered}"
    )
    assert condition(outcome, "UnverifiedRequester") == (
        ConditionStatus.TRUE, "SignatureMismatch", f"requester not verified (claims alice): {altered}"
    )


def test_a_failed_requester_verdict_without_a_reason_reads_as_a_missing_signature() -> None:
    outcome = decide(requester_verdict=Verdict(False))
    assert condition(outcome, "UnverifiedRequester")[:2] == (ConditionStatus.TRUE, "SignatureMissing")


def test_reviews_failing_for_different_reasons_are_all_named_under_one_reason() -> None:
    request = reviewed(("bob", "Approve"), ("carol", "Approve"))
    outcome = decide(request, review_verdicts={"bob": MISMATCH})
    assert condition(outcome, "UnverifiedReview") == (
        ConditionStatus.TRUE,
        "SignaturesNotValid",
        "reviews not counted, their seal failed: "
        "bob (the signature does not match: the identity or the object was altered); "
        "carol (no signature: it was not admitted through Strongroom's webhook)",
    )


def test_the_review_condition_names_five_failed_reviewers_and_counts_the_rest() -> None:
    six = reviewed(*((f"user{i}", "Approve") for i in range(1, 7)))
    message = condition(decide(six, review_verdicts={}), "UnverifiedReview")[2]
    assert message.count("(no signature") == 5 and "user5 (" in message and "user6" not in message
    assert message.endswith("; and 1 more")
    five = reviewed(*((f"user{i}", "Approve") for i in range(1, 6)))
    assert condition(decide(five, review_verdicts={}), "UnverifiedReview")[2].endswith(
        "user5 (no signature: it was not admitted through Strongroom's webhook)"
    )


def test_a_message_is_bounded_to_1024_characters_ending_in_an_ellipsis() -> None:
    prefix = f"{SUBJECT} is rejected: the Safe is blocked: "
    fits = "x" * (1024 - len(prefix))
    whole = decide(safe=safe_object(blocked=True, blockedReason=fits)).message
    assert whole == prefix + fits
    cut = decide(safe=safe_object(blocked=True, blockedReason=fits + "yz")).message
    assert len(cut) == 1024 and cut == prefix + fits[:-1] + "…"
