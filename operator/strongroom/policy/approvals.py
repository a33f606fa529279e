"""Counting reviews: distinct, signed, by current approvers of the Safe, never by the requester.

Signature checking is done elsewhere (it needs the operator's key); here it is a `verify` callback,
so a review written while the webhook was bypassed counts for nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from strongroom.api.accessrequest import Review, ReviewDecision
from strongroom.api.safe import Approvers, SafeSpec
from strongroom.policy.durations import parse_duration

Verify = Callable[[Review], bool]


@dataclass(frozen=True)
class IgnoredReview:
    """A review that was not counted, and why (for a condition on the request)."""

    user: str
    why: str


@dataclass(frozen=True)
class Tally:
    required: int
    approved_by: tuple[str, ...] = ()
    denied_by: tuple[str, ...] = ()
    narrowings: tuple[datetime, ...] = ()
    ignored: tuple[IgnoredReview, ...] = ()

    @property
    def received(self) -> int:
        return len(self.approved_by)

    @property
    def missing(self) -> int:
        return max(0, self.required - self.received)

    @property
    def denied(self) -> bool:
        return bool(self.denied_by)

    @property
    def approved(self) -> bool:
        """Enough approvals and no deny (a single counted deny ends the request)."""
        return not self.denied and self.missing == 0

    @property
    def narrowed_until(self) -> datetime | None:
        """The earliest notAfter any counted approver asked for."""
        return min(self.narrowings, default=None)


def is_approver(approvers: Approvers, user: str, groups: Iterable[str]) -> bool:
    """Named as an approver, or in one of the approver groups."""
    return user in approvers.users or not set(approvers.groups).isdisjoint(groups)


def _why_ignored(
    review: Review, approvers: Approvers, requester: str, verify: Verify, deadline: datetime | None
) -> str | None:
    if not verify(review):
        return "its signature is missing or not valid"
    if review.user == requester:
        return "the requester cannot review their own request"
    if not is_approver(approvers, review.user, review.groups):
        return "not an approver of the Safe"
    if deadline is not None and review.time > deadline:
        return "made after the approval timeout"
    return None


def count_reviews(
    safe: SafeSpec,
    reviews: Sequence[Review],
    requester: str,
    verify: Verify,
    deadline: datetime | None = None,
) -> Tally:
    """Tally the reviews against the Safe's approvers as they are now (an approver removed from the
    Safe no longer counts). Only a user's first review counts; later ones are ignored. Reviews made
    after `deadline` (the approval timeout) are ignored."""
    approved: list[str] = []
    denied: list[str] = []
    narrowings: list[datetime] = []
    ignored: list[IgnoredReview] = []
    for review in reviews:
        why = _why_ignored(review, safe.approvers, requester, verify, deadline)
        if why is None and review.user in (*approved, *denied):
            why = "this approver already reviewed the request"
        if why is not None:
            ignored.append(IgnoredReview(review.user, why))
        elif review.decision == ReviewDecision.DENY:
            denied.append(review.user)
        else:
            approved.append(review.user)
            if review.not_after is not None:
                narrowings.append(review.not_after)
    return Tally(safe.policy.required_approvals, tuple(approved), tuple(denied), tuple(narrowings), tuple(ignored))


def approval_deadline(created_at: datetime, safe: SafeSpec) -> datetime:
    """When a request created at `created_at` stops waiting for reviews."""
    return created_at + parse_duration(safe.policy.approval_timeout)


def approval_timed_out(created_at: datetime, safe: SafeSpec, now: datetime) -> bool:
    """Whether the approval timeout has been reached (at the deadline itself it has)."""
    return now >= approval_deadline(created_at, safe)
