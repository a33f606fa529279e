"""Whether a Grant issued directly (without a request) may start: the same limits a request meets.

Authority to issue one is the Safe-scoped `grant` permission, asked of the API server by the shell;
what is decided here is the Safe's own word: not blocked, the subject a member (unless the Safe
allows standing grants), a namespace it delivers to, no longer than maxDuration, and within
exclusive check-out and the per-user limit.

The subject's groups in a direct Grant are the issuer's word, not the API server's: membership is
judged by the subject's user name alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from strongroom.api.accessrequest import RejectionReason
from strongroom.api.common import format_time
from strongroom.api.grant import Grant
from strongroom.api.safe import Safe
from strongroom.policy.checkout import check_exclusive_checkout, check_grants_per_user, key
from strongroom.policy.decision import Decision
from strongroom.policy.durations import parse_duration
from strongroom.policy.request_decision import eligibility_lost


def by_name_only(grant: Grant) -> Grant:
    """`grant` as membership judges a direct Grant: without the groups its issuer wrote down."""
    subject = grant.spec.subject.model_copy(update={"groups": []})
    return grant.model_copy(update={"spec": grant.spec.model_copy(update={"subject": subject})})


def check_direct_grant(safe: Safe, grant: Grant, namespace_labels: Mapping[str, str], now: datetime, *,
                       account_grants: Sequence[Grant], user_grants: Sequence[Grant]) -> Decision:
    """Raises ValueError for a Safe that cannot be evaluated (the caller revokes: InvalidPolicy)."""
    policy = safe.spec.policy
    standing = eligibility_lost(safe, by_name_only(grant), namespace_labels, now,
                                require_membership=not policy.allow_standing_grants)
    if not standing.allowed:
        return standing
    length = grant.spec.not_after - grant.spec.not_before
    if policy.max_duration is not None and length > parse_duration(policy.max_duration):
        return Decision.deny(RejectionReason.DURATION_OVER_MAXIMUM,
                             f"the grant lasts until {format_time(grant.spec.not_after)}, longer than the Safe's "
                             f"maxDuration {policy.max_duration}")
    own = {key(grant)}
    for check in (
        lambda: check_exclusive_checkout(policy, account_grants, grant.spec.not_before, grant.spec.not_after,
                                         now=now, exclude=own),
        lambda: check_grants_per_user(policy, grant.spec.subject.user, user_grants, now=now, exclude=own),
    ):
        decision = check()
        if not decision.allowed:
            return decision
    return standing
