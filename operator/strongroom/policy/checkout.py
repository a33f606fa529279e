"""How many at once: exclusive check-out of an account, and the per-user limit of a Safe.

A "no" here usually means "not now" rather than a rejection: the caller decides whether to wait.
Grants count while they are not terminal and have not reached notAfter; Scheduled ones count too,
for the time they will hold.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from strongroom.api.accessrequest import RejectionReason
from strongroom.api.common import format_time
from strongroom.api.grant import Grant
from strongroom.api.phases import is_terminal
from strongroom.api.safe import SafePolicy
from strongroom.policy.decision import Decision

GrantKey = tuple[str, str]  # (namespace, name)


def key(grant: Grant) -> GrantKey:
    return grant.namespace, grant.name


def is_live(grant: Grant, now: datetime) -> bool:
    """Holds now or will: not terminal and not past notAfter."""
    return not is_terminal(grant.status.phase) and now < grant.spec.not_after


def _overlaps(grant: Grant, not_before: datetime, not_after: datetime) -> bool:
    return grant.spec.not_before < not_after and not_before < grant.spec.not_after


def counts_grants(policy: SafePolicy) -> bool:
    """Whether deciding under `policy` depends on the grants that exist (exclusive check-out or a
    per-user limit): such decisions read them afresh, one at a time per Safe."""
    return policy.exclusive_checkout or policy.max_active_grants_per_user is not None


def check_exclusive_checkout(
    policy: SafePolicy,
    account_grants: Sequence[Grant],
    not_before: datetime,
    not_after: datetime,
    *,
    now: datetime,
    exclude: Collection[GrantKey] = (),
) -> Decision:
    """With exclusive check-out, no other live grant of the account may overlap [not_before, not_after).

    `account_grants` are the grants of this account; `exclude` names the request's own grant, so
    reconciling it again does not find it in its own way.
    """
    if not policy.exclusive_checkout:
        return Decision.allow()
    for grant in account_grants:
        if key(grant) not in exclude and is_live(grant, now) and _overlaps(grant, not_before, not_after):
            return Decision.deny(
                RejectionReason.ACCOUNT_CHECKED_OUT,
                f"the account is checked out by {grant.spec.subject.user} until {format_time(grant.spec.not_after)}",
            )
    return Decision.allow()


def check_grants_per_user(
    policy: SafePolicy,
    user: str,
    safe_grants: Sequence[Grant],
    *,
    now: datetime,
    exclude: Collection[GrantKey] = (),
) -> Decision:
    """The user holds fewer live grants of the Safe's accounts than maxActiveGrantsPerUser.

    `safe_grants` are the grants of all the Safe's accounts (any subject)."""
    limit = policy.max_active_grants_per_user
    if limit is None:
        return Decision.allow()
    held = [
        grant
        for grant in safe_grants
        if grant.spec.subject.user == user and key(grant) not in exclude and is_live(grant, now)
    ]
    if len(held) >= limit:
        return Decision.deny(
            RejectionReason.TOO_MANY_ACTIVE_GRANTS,
            f"{user} already holds {len(held)} grant(s) of this Safe; it allows {limit} at once",
        )
    return Decision.allow()
