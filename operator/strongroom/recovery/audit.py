"""Audit reports (pure): who requested what, whose reviews counted, when access started and ended.

Rows come from AccessRequests (live, or restored history) and never from a Secret: nothing here can
hold a credential value.

Seals cannot be checked here (that needs the operator's key), so a review is named as an approval
only when the request's status shows that the operator counted it: the reviews are filtered as
`strongroom.policy.approvals.count_reviews` filters them, as far as the status (and the Safe the
request was decided under, when it is at hand) allows, and the reviews left must be exactly as many
as the operator recorded in status.approvalsReceived. Anything else is listed as ignored, with why.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from strongroom.api.accessrequest import AccessRequest, Review, ReviewDecision
from strongroom.api.common import ConditionStatus, find_condition, format_time
from strongroom.api.phases import AccessRequestPhase
from strongroom.api.safe import SafeSpec
from strongroom.policy.approvals import approval_deadline, is_approver
from strongroom.policy.policyhash import policy_hash
from strongroom.policy.request_decision import UNVERIFIED_REQUESTER, UNVERIFIED_REVIEW

COLUMNS = ("namespace", "request", "safe", "account", "requester", "reason", "ticket", "phase", "requested",
           "approvedBy", "deniedBy", "ignoredReviews", "decided", "accessStart", "accessEnd", "grant", "source")

Key = tuple[str, str]


@dataclass(frozen=True)
class Ignored:
    """A review not named as an approval or a denial, and why."""

    review: Review
    why: str


@dataclass(frozen=True)
class ReviewSplit:
    """The reviews of one request: the approvals and denials the operator counted, and the rest."""

    approved_by: tuple[str, ...] = ()
    denied_by: tuple[str, ...] = ()
    ignored: tuple[Ignored, ...] = ()


def _time(value: datetime | None) -> str:
    return format_time(value) if value else ""


def _made(request: AccessRequest) -> datetime | None:
    return request.status.created_at or (request.created if "creationTimestamp" in request.metadata else None)


def _requester_seal(request: AccessRequest) -> bool | None:
    """Whether the operator honoured the requester's seal (its UnverifiedRequester condition is False),
    found it failed (True), or left no word of it (None)."""
    if not request.spec.requester:
        return False
    condition = find_condition(request.status.conditions, UNVERIFIED_REQUESTER)
    if condition is None:
        # A request approved at its first look gets no conditions; the binding is written only for an honoured seal.
        return True if request.status.requester_binding else None
    return None if condition.status == ConditionStatus.UNKNOWN else condition.status == ConditionStatus.FALSE


def requester_of(request: AccessRequest) -> str:
    """The requester's name once the operator verified it, else what the request claims."""
    if _requester_seal(request):
        return request.spec.requester or ""
    return f"unverified (claims {request.spec.requester})" if request.spec.requester else "unverified (none stamped)"


def _failed_seals(request: AccessRequest) -> tuple[dict[str, str], bool]:
    """Reviewers the operator named in its UnverifiedReview condition (user -> why), and whether that
    names every failed seal (it names a few, then "and N more")."""
    condition = find_condition(request.status.conditions, UNVERIFIED_REVIEW)
    if condition is None:
        return {}, False
    if condition.status == ConditionStatus.FALSE:
        return {}, True
    # The message is request_decision's "...their seal failed: USER (WHY); USER (WHY); and N more".
    failed = {}
    for review in request.status.reviews:
        found = re.search(rf"(?:: |; ){re.escape(review.user)} \(([^)]*)\)", condition.message)
        if found:
            failed[review.user] = found.group(1)
    return failed, not condition.message.endswith(("more", "…"))


def decided_under(request: AccessRequest, policies: Mapping[Key, SafeSpec], safe_name: str) -> SafeSpec | None:
    """The Safe's spec if it is still the policy the request was decided under (same policyHash), else None:
    a Safe changed since would judge the reviews by approvers the operator never saw."""
    spec = policies.get((request.spec.account.namespace, safe_name)) if safe_name else None
    return spec if spec is not None and policy_hash(spec) == request.status.policy_hash else None


def _why_ignored(review: Review, request: AccessRequest, failed: Mapping[str, str],
                 policy: SafeSpec | None) -> str | None:
    """count_reviews' reasons, in its order, from what the status and the Safe (when known) say."""
    decided, made = request.status.decided_at, _made(request)
    if review.user in failed:
        return f"its seal failed ({failed[review.user]})"
    if review.user == request.spec.requester:
        return "the requester cannot review their own request"
    if policy is not None:
        if not is_approver(policy.approvers, review.user, review.groups):
            return "not an approver of the Safe"
        if made is not None and review.time > approval_deadline(made, policy):
            return "made after the approval timeout"
    # decidedAt is the Grant's creationTimestamp, whole seconds: a review within that second counted.
    if decided is not None and review.time.replace(microsecond=0) > decided:
        return "made after the request was decided"
    return None


def split_reviews(request: AccessRequest, policy: SafeSpec | None = None) -> ReviewSplit:
    """Which reviews the operator counted. `policy`: the Safe the request was decided under, if known
    (see `decided_under`); without it, reviews the status cannot settle are ignored as "not verified"."""
    reviews = request.status.reviews
    if _requester_seal(request) is False:  # the operator does not even tally the reviews of such a request
        return ReviewSplit(ignored=tuple(Ignored(review, "the requester is not verified: no review of this request "
                                                 "counts") for review in reviews))
    failed, all_failures_named = _failed_seals(request)
    judged: list[tuple[Review, str | None]] = []
    kept: set[str] = set()
    for review in reviews:
        why = _why_ignored(review, request, failed, policy)
        if why is None and review.user in kept:
            why = "this approver already reviewed the request"
        if why is None:
            kept.add(review.user)
        judged.append((review, why))
    approvals = [review for review, why in judged if why is None and review.decision == ReviewDecision.APPROVE]
    denials = [review for review, why in judged if why is None and review.decision == ReviewDecision.DENY]
    unknown = "" if policy is not None else "; the Safe it was decided under is not at hand"
    unsettled = {
        ReviewDecision.APPROVE: _approvals_unsettled(request, len(approvals), unknown),
        ReviewDecision.DENY: _denials_unsettled(request, len(denials), unknown,
                                                settled=policy is not None and all_failures_named),
    }
    return ReviewSplit(
        approved_by=tuple(r.user for r in approvals if unsettled[ReviewDecision.APPROVE] is None),
        denied_by=tuple(r.user for r in denials if unsettled[ReviewDecision.DENY] is None),
        ignored=tuple(Ignored(r, reason) for r, why in judged if (reason := why or unsettled[r.decision])),
    )


def _approvals_unsettled(request: AccessRequest, kept: int, unknown: str) -> str | None:
    """None when the `kept` approvals are the ones counted, else why they are not named as approvals.
    Every counted approval is among those kept, so when as many are kept as were counted, they are the ones."""
    received = request.status.approvals_received
    if kept == received:
        return None
    if received == 0:
        return "not counted by the operator"
    return f"not verified: the operator counted {received} approval(s) and {kept} could have counted{unknown}"


def _denials_unsettled(request: AccessRequest, kept: int, unknown: str, *, settled: bool) -> str | None:
    """None when the `kept` denials are the ones counted, else why they are not named as denials. A counted
    deny ends the request as Denied, so the one deny kept of a Denied request is the one counted; of several,
    all are only when the Safe it was decided under is at hand and every failed seal is named (`settled`)."""
    if request.status.phase != AccessRequestPhase.DENIED:
        return "not counted by the operator: the request was not denied"
    if kept == 1 or settled:
        return None
    return f"not verified: the report cannot tell which of {kept} denials counted{unknown}"


def request_row(request: AccessRequest, safe_of: Mapping[Key, str], source: str,
                policies: Mapping[Key, SafeSpec] | None = None) -> dict[str, str]:
    status = request.status
    account = request.spec.account
    safe_name = safe_of.get(account.key, "")
    split = split_reviews(request, decided_under(request, policies or {}, safe_name))
    return {
        "namespace": request.namespace,
        "request": request.name,
        "safe": safe_name,
        "account": f"{account.namespace}/{account.name}",
        "requester": requester_of(request),
        "reason": request.spec.reason or "",
        "ticket": request.spec.ticket or "",
        "phase": status.phase.value,
        "requested": _time(_made(request)),
        "approvedBy": ", ".join(split.approved_by),
        "deniedBy": ", ".join(split.denied_by),
        "ignoredReviews": "; ".join(f"{i.review.user} ({i.review.decision}): {i.why}" for i in split.ignored),
        "decided": _time(status.decided_at),
        "accessStart": _time(status.activated_at),
        "accessEnd": _time(status.finished_at or (status.not_after if status.activated_at else None)),
        "grant": status.grant or "",
        "source": source,
    }


def report_rows(
    requests: Iterable[tuple[AccessRequest, str]],
    safe_of: Mapping[Key, str],
    *,
    policies: Mapping[Key, SafeSpec] | None = None,
    safe: str | None = None,
    account: str | None = None,
    user: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[dict[str, str]]:
    """Rows for (request, source) pairs, filtered by Safe, Account (`ns/name` or name), requester (as
    claimed, so an unverified claim to be `user` is listed too, marked so) and period (by when the
    request was made), oldest first. `policies`: (namespace, name) -> spec of the Safes at hand."""
    rows = []
    for request, source in requests:
        row = request_row(request, safe_of, source, policies)
        made = _made(request)
        if safe and row["safe"] != safe:
            continue
        if account and account not in (row["account"], request.spec.account.name):
            continue
        if user and request.spec.requester != user:
            continue
        if made and ((since and made < since) or (until and made >= until)):
            continue
        rows.append(row)
    return sorted(rows, key=lambda r: (r["requested"], r["namespace"], r["request"]))
