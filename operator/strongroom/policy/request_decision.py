"""The decision ladder for an AccessRequest in phase Pending, and the check that revokes a grant.

Pure: the operator shell reads the cluster into RequestFacts (objects, namespace labels, seal
verdicts, grants) and writes the RequestOutcome. Every rule lives in
the policy modules this one calls; what is decided here is only their order, which is the order of
the API's guarantees (first failure wins):

1. an unsealed requester: nothing of the request is looked at, not even its reviews;
2. the Account and its Safe exist;
3-4. the Safe is not blocked, the requester is a current member inside their schedule, and the
   namespace is one the Safe delivers to (a Safe that cannot be evaluated rejects: InvalidPolicy);
5-6. reason/ticket, and the time asked for;
7. reviews: a counted deny, the approval timeout, or still waiting;
8. approved: the window, exclusive check-out and the per-user limit.

The requester needs no right to read Secrets: the operator hands them read access to exactly the
Secret it delivers (see policy.delivery).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from strongroom.api.accessrequest import AccessRequest, RejectionReason
from strongroom.api.account import Account
from strongroom.api.common import Condition, ConditionStatus, format_time
from strongroom.api.grant import Grant
from strongroom.api.phases import AccessRequestPhase
from strongroom.api.safe import Safe, SafeSpec
from strongroom.policy.approvals import Tally, approval_deadline, approval_timed_out, count_reviews
from strongroom.policy.checkout import GrantKey, check_exclusive_checkout, check_grants_per_user, key
from strongroom.policy.decision import Decision
from strongroom.policy.eligibility import check_justification, check_requester
from strongroom.policy.inventory import policy_problem
from strongroom.policy.policyhash import policy_hash
from strongroom.policy.verdicts import MISSING_SEAL, Unverified, Verdict
from strongroom.policy.windows import AccessWindow, check_requested_time, grant_window

UNVERIFIED_REQUESTER = "UnverifiedRequester"
UNVERIFIED_REVIEW = "UnverifiedReview"

APPROVED = "Approved"
DENIED = "Denied"
TIMED_OUT = "TimedOut"
AWAITING_APPROVAL = "AwaitingApproval"

# The message goes into status.history (ShortText, 1024) and Events; user names may be 512 long each.
MESSAGE_LIMIT = 1024
# Reviewers named in the UnverifiedReview condition (its message is bounded at 4096).
NAMED_REVIEWERS = 5


@dataclass(frozen=True)
class RequestFacts:
    """Everything the decision needs; the operator shell reads it from the cluster."""

    request: AccessRequest
    account: Account | None  # None: the Account does not exist
    safe: Safe | None  # None: the Safe does not exist
    namespace_labels: Mapping[str, str]  # labels of the request's namespace
    requester_verdict: Verdict  # verify_requester(...)
    review_verdicts: Mapping[str, Verdict]  # per reviewer user name: verify_review(...)
    account_grants: Sequence[Grant]  # every Grant of this Account (any namespace)
    requester_grants: Sequence[Grant]  # every Grant of the requester under this Safe
    now: datetime


@dataclass(frozen=True)
class RequestOutcome:
    """What the shell writes: the phase, why, the counts, the window when approved, and conditions."""

    phase: AccessRequestPhase
    reason: str
    message: str
    approvals_required: int
    approvals_received: int
    window: AccessWindow | None  # set exactly when phase is Approved
    policy_hash: str | None  # of the Safe it was decided under, when a Safe exists
    conditions: tuple[Condition, ...]
    next_check: datetime | None  # when the outcome may change by time alone
    approved_by: tuple[str, ...] = ()  # the approvers whose reviews were counted


def decide_pending(facts: RequestFacts) -> RequestOutcome:
    """Decide a request in phase Pending (see the module docstring for the ladder)."""
    verdict = facts.requester_verdict if facts.request.spec.requester else MISSING_SEAL
    if not verdict.ok:
        # Its reviews are not even tallied: nothing of an unsealed request counts.
        return _outcome(
            facts,
            AccessRequestPhase.REJECTED,
            RejectionReason.IDENTITY_NOT_VERIFIED,
            # The stamped name is only a claim here, so the message does not call it the requester.
            f"the request for account {_account(facts)} is rejected: its requester is not verified "
            f"(claims {facts.request.spec.requester or '(none stamped)'}): {verdict.message}",
            (_requester_condition(facts, verdict),),
        )
    conditions = (_requester_condition(facts, verdict), _review_condition(facts))
    try:
        return _decide_verified(facts, conditions)
    except ValueError as error:  # a Safe that cannot be evaluated: unknown time zone, bad duration
        return _rejected(facts, Decision.deny(RejectionReason.INVALID_POLICY, str(error)), conditions)


def eligibility_lost(safe: Safe | None, grant: Grant, namespace_labels: Mapping[str, str], now: datetime,
                     *, require_membership: bool = True) -> Decision:
    """Whether a Scheduled or Active grant may still hold: allowed means keep it; a denial is the
    reason to revoke it (Safe gone or blocked, subject no longer a member or outside their schedule,
    namespace no longer allowed).

    A grant that starts later is judged at its notBefore, so a schedule that opens then (and is
    closed now) does not revoke it.
    """
    if safe is None:
        account = f"{grant.spec.account.namespace}/{grant.spec.account.name}"
        return Decision.deny(RejectionReason.INVALID_POLICY, f"the Safe of account {account} no longer exists")
    subject = grant.spec.subject
    try:
        return check_requester(
            safe.spec,
            subject.user,
            subject.groups,
            grant.namespace,
            namespace_labels,
            now=max(now, grant.spec.not_before),
            require_membership=require_membership,
        )
    except ValueError as error:
        return Decision.deny(RejectionReason.INVALID_POLICY, str(error))


# --- the ladder past the requester's seal ---------------------------------------------------------


def _decide_verified(facts: RequestFacts, conditions: tuple[Condition, ...]) -> RequestOutcome:
    request, now = facts.request, facts.now
    spec, requester = request.spec, request.spec.requester or ""
    if facts.account is None:
        reason = f"account {_account(facts)} does not exist"
        return _rejected(facts, Decision.deny(RejectionReason.UNKNOWN_ACCOUNT, reason), conditions)
    if facts.safe is None:
        # No Safe, no policy to decide under: the Account exists but cannot be requested.
        reason = f"safe {facts.account.spec.safe} of account {_account(facts)} does not exist"
        return _rejected(facts, Decision.deny(RejectionReason.INVALID_POLICY, reason), conditions)
    problem = policy_problem(facts.safe)
    if problem is not None:
        return _rejected(facts, Decision.deny(RejectionReason.INVALID_POLICY, f"the Safe cannot be evaluated: "
                                              f"{problem}"), conditions)
    safe = facts.safe.spec
    # Eligibility is judged when access would start, so a scheduled window is checked at its start.
    activation = max(now, spec.window.start) if spec.window is not None else now
    eligible = check_requester(
        safe, requester, spec.requester_groups, request.namespace, facts.namespace_labels, now=activation
    )
    refusal = _first_refusal(
        lambda: eligible,
        lambda: check_justification(safe.policy, spec.reason, spec.ticket),
        lambda: check_requested_time(safe.policy, spec.duration, spec.window, now),
    )
    if refusal is not None:
        return _rejected(facts, refusal, conditions)

    deadline = approval_deadline(request.created, safe)
    tally = count_reviews(
        safe,
        request.status.reviews,
        requester,
        lambda review: facts.review_verdicts.get(review.user, MISSING_SEAL).ok,
        deadline,
    )
    if tally.denied:
        return _outcome(
            facts,
            AccessRequestPhase.DENIED,
            DENIED,
            f"{_subject(facts)} is denied by {_names(tally.denied_by)}",
            conditions,
            tally=tally,
        )
    if tally.missing:
        # Approvals counted before the deadline stand even when the operator sees them late, so the
        # timeout is asked only while approvals are still missing.
        if approval_timed_out(request.created, safe, now):
            message = (
                f"{_subject(facts)} timed out at {format_time(deadline)} "
                f"with {tally.received} of {tally.required} approvals"
            )
            return _outcome(facts, AccessRequestPhase.TIMED_OUT, TIMED_OUT, message, conditions, tally=tally)
        message = (
            f"{tally.received} of {tally.required} approvals; waiting for approvers of safe "
            f"{facts.safe.name} until {format_time(deadline)}"
        )
        wake = _earliest(deadline, eligible.until, spec.window.end if spec.window is not None else None)
        return _outcome(
            facts, AccessRequestPhase.PENDING, AWAITING_APPROVAL, message, conditions, tally=tally, next_check=wake
        )
    return _approve(facts, safe, tally, activation=activation, eligible_until=eligible.until, conditions=conditions)


def _approve(
    facts: RequestFacts,
    safe: SafeSpec,
    tally: Tally,
    *,
    activation: datetime,
    eligible_until: datetime | None,
    conditions: tuple[Condition, ...],
) -> RequestOutcome:
    spec, now = facts.request.spec, facts.now
    result = grant_window(
        safe.policy,
        duration=spec.duration,
        window=spec.window,
        activation=activation,
        narrowings=tally.narrowings,
        eligible_until=eligible_until,
    )
    if result.window is None:
        return _rejected(facts, result.decision, conditions, tally)
    window = result.window
    own = _own_grants(facts)
    refusal = _first_refusal(
        lambda: check_exclusive_checkout(
            safe.policy, facts.account_grants, window.not_before, window.not_after, now=now, exclude=own
        ),
        lambda: check_grants_per_user(safe.policy, spec.requester or "", facts.requester_grants, now=now, exclude=own),
    )
    if refusal is not None:
        return _rejected(facts, refusal, conditions, tally)
    by = f"by {_names(tally.approved_by)}" if tally.approved_by else "automatically (the safe requires no approval)"
    message = (
        f"{_subject(facts)} is approved {by}: access from {format_time(window.not_before)} "
        f"until {format_time(window.not_after)}"
    )
    # Next by time alone: activation at a later start, else the end of access.
    wake = window.not_before if window.not_before > now else window.not_after
    return _outcome(
        facts, AccessRequestPhase.APPROVED, APPROVED, message, conditions, tally=tally, window=window, next_check=wake
    )


def _own_grants(facts: RequestFacts) -> set[GrantKey]:
    """The request's own grant (issued for its uid), so deciding again after it was created does not
    find the request in its own way."""
    request = facts.request
    return {key(grant) for grant in (*facts.account_grants, *facts.requester_grants)
            if grant.spec.source.uid == request.uid}


# --- building the outcome -------------------------------------------------------------------------


def _first_refusal(*checks: Callable[[], Decision]) -> Decision | None:
    # Lazy, so a later check (which may raise for a broken Safe) runs only when the earlier passed.
    for check in checks:
        decision = check()
        if not decision.allowed:
            return decision
    return None


def _rejected(
    facts: RequestFacts, refusal: Decision, conditions: tuple[Condition, ...], tally: Tally | None = None
) -> RequestOutcome:
    reason = refusal.reason or RejectionReason.INVALID_POLICY  # a refusal always carries one
    message = f"{_subject(facts)} is rejected: {refusal.message}"
    return _outcome(facts, AccessRequestPhase.REJECTED, reason, message, conditions, tally=tally)


def _outcome(
    facts: RequestFacts,
    phase: AccessRequestPhase,
    reason: str,
    message: str,
    conditions: tuple[Condition, ...],
    *,
    tally: Tally | None = None,
    window: AccessWindow | None = None,
    next_check: datetime | None = None,
) -> RequestOutcome:
    safe = facts.safe
    return RequestOutcome(
        phase=phase,
        reason=str(reason),
        message=_bounded(message, MESSAGE_LIMIT),
        approvals_required=safe.spec.policy.required_approvals if safe is not None else 0,
        approvals_received=tally.received if tally is not None else 0,
        window=window,
        policy_hash=policy_hash(safe.spec) if safe is not None else None,
        conditions=conditions,
        next_check=next_check,
        approved_by=tally.approved_by if tally is not None else (),
    )


def _requester_condition(facts: RequestFacts, verdict: Verdict) -> Condition:
    requester = facts.request.spec.requester or "(none stamped)"
    message = f"requester {requester}: {verdict.message}" if verdict.ok else \
        f"requester not verified (claims {requester}): {verdict.message}"
    if verdict.ok:
        return _condition(facts, UNVERIFIED_REQUESTER, ConditionStatus.FALSE, "SignatureVerified", message)
    reason = str(verdict.reason or Unverified.MISSING)
    return _condition(facts, UNVERIFIED_REQUESTER, ConditionStatus.TRUE, reason, message)


def _review_condition(facts: RequestFacts) -> Condition:
    failed = [
        (review.user, verdict)
        for review in facts.request.status.reviews
        if not (verdict := facts.review_verdicts.get(review.user, MISSING_SEAL)).ok
    ]
    if not failed:
        return _condition(
            facts, UNVERIFIED_REVIEW, ConditionStatus.FALSE, "SignaturesVerified", "no review was ignored for its seal"
        )
    reasons = {verdict.reason for _, verdict in failed}
    reason = str(reasons.pop()) if len(reasons) == 1 else "SignaturesNotValid"
    named = "; ".join(f"{user} ({verdict.message})" for user, verdict in failed[:NAMED_REVIEWERS])
    more = f"; and {len(failed) - NAMED_REVIEWERS} more" if len(failed) > NAMED_REVIEWERS else ""
    return _condition(
        facts, UNVERIFIED_REVIEW, ConditionStatus.TRUE, reason, f"reviews not counted, their seal failed: {named}{more}"
    )


def _condition(facts: RequestFacts, type_: str, status: ConditionStatus, reason: str, message: str) -> Condition:
    return Condition(
        type=type_,
        status=status,
        reason=reason,
        message=_bounded(message, 4096),
        last_transition_time=facts.now,
        observed_generation=facts.request.generation or None,
    )


def _subject(facts: RequestFacts) -> str:
    safe = f" (safe {facts.account.spec.safe})" if facts.account is not None else ""
    return f"{facts.request.spec.requester or 'an unstamped requester'}'s request for account {_account(facts)}{safe}"


def _account(facts: RequestFacts) -> str:
    ref = facts.request.spec.account
    return f"{ref.namespace}/{ref.name}"


def _names(users: Sequence[str]) -> str:
    return ", ".join(users)


def _earliest(*moments: datetime | None) -> datetime | None:
    return min((moment for moment in moments if moment is not None), default=None)


def _bounded(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
