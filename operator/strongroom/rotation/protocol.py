"""The crash-safe rotation protocol's decisions, pure.

The new password is written to the Account's Secret under PENDING_KEY before it is set on the target,
and moved to the password key after (commit). Whatever was interrupted, the Secret then holds the
old password and maybe a pending one; asking the target which of them works decides what to finish.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import datetime, timedelta

from strongroom.api.account import Account
from strongroom.api.grant import Grant
from strongroom.api.phases import GrantPhase, is_terminal
from strongroom.policy.delivery import PENDING_KEY
from strongroom.policy.durations import parse_duration

ROTATION_ANNOTATION = "strongroom.dev/pending-rotation"  # the id and time of the pending rotation
STEPS = ("pending-recorded", "target-set", "committed")
MAX_BACKOFF = timedelta(minutes=10)


class Works(enum.StrEnum):
    """Which password the target accepts now."""

    NEW = "new"
    OLD = "old"
    UNKNOWN = "unknown"  # the target is down or refuses both: nothing may be thrown away


class Action(enum.StrEnum):
    COMMIT = "commit"  # the pending password is live on the target: store it as the password
    ROLL_BACK = "roll-back"  # the target still has the old one: drop the pending password
    WAIT = "wait"  # cannot tell: keep both, report, retry with backoff


def recover(works: Works) -> Action:
    return {Works.NEW: Action.COMMIT, Works.OLD: Action.ROLL_BACK}.get(works, Action.WAIT)


def _ended_at(grant: Grant) -> datetime | None:
    return grant.status.ended_at if is_terminal(grant.status.phase) else None


def owed_on_release(account: Account, account_grants: Sequence[Grant]) -> bool:
    """A grant ended after the last rotation and the Account rotates on release."""
    if account.spec.rotation is None or not account.spec.rotation.on_release:
        return False
    last = account.status.rotation.last_rotated if account.status.rotation else None
    ends = [t for t in map(_ended_at, account_grants) if t is not None]
    return bool(ends) and (last is None or max(ends) > last)


def live_holders(account_grants: Sequence[Grant]) -> list[Grant]:
    """Grants of the account whose holder may be using the credential now."""
    return [g for g in account_grants if g.status.phase is GrantPhase.ACTIVE]


def due_on_release(account: Account, account_grants: Sequence[Grant]) -> bool:
    """A rotation owed on release is due once the last live holder is done: rotating earlier would
    change the password under holders still inside their windows (a non-exclusive Account)."""
    return owed_on_release(account, account_grants) and not live_holders(account_grants)


def delivery_held(account: Account, account_grants: Sequence[Grant], pending: bool) -> bool:
    """No credential is handed out while a rotation is pending or due: the next holder gets the fresh
    password, never the one the last holder saw. While others still hold the Account (non-exclusive)
    the rotation waits for them, and a new holder shares the password they already have."""
    return pending or due_on_release(account, account_grants)


def requested(account: Account) -> datetime | None:
    """The moment `requestedAt` asks for a rotation not done since (None: nothing is asked for)."""
    spec = account.spec.rotation
    if spec is None or spec.requested_at is None:
        return None
    last = account.status.rotation.last_rotated if account.status.rotation else None
    return spec.requested_at if last is None or spec.requested_at > last else None


def rotation_reason(account: Account, account_grants: Sequence[Grant], now: datetime) -> str | None:
    """Why the Account's password is due for rotation now, or None. A `requestedAt` still ahead of this
    clock (the requester's runs ahead) is due when it comes: rotating before it would leave it newer
    than the rotation, and so asking again, at every look until it came."""
    spec = account.spec.rotation
    if spec is None:
        return None
    last = account.status.rotation.last_rotated if account.status.rotation else None
    asked = requested(account)
    if asked is not None and now >= asked:
        return "requested"
    if due_on_release(account, account_grants):
        return "a grant ended"
    if spec.schedule is not None:
        since = last or account.created
        if now >= since + parse_duration(spec.schedule):
            return "scheduled"
    return None


def next_due(account: Account, now: datetime) -> datetime | None:
    """The next moment after `now` when a rotation falls due by the clock (`requestedAt`, the schedule).
    Moments already past are not given: what is due now was tried, or waits for its backoff."""
    moments = [m for m in (requested(account), next_scheduled(account)) if m is not None and m > now]
    return min(moments, default=None)


def next_scheduled(account: Account) -> datetime | None:
    spec = account.spec.rotation
    if spec is None or spec.schedule is None:
        return None
    last = account.status.rotation.last_rotated if account.status.rotation else None
    return (last or account.created) + parse_duration(spec.schedule)


def backoff(failures: int) -> timedelta:
    """How long to wait after `failures` failed attempts in a row: 2 s doubling, at most 10 minutes."""
    if failures <= 0:
        return timedelta(0)
    return min(timedelta(seconds=2 ** min(failures, 10)), MAX_BACKOFF)


def may_attempt(account: Account, now: datetime) -> bool:
    """False while the backoff after the last failure runs."""
    status = account.status.rotation
    if status is None or status.last_attempt is None or not status.failures:
        return True
    return now >= status.last_attempt + backoff(status.failures)


__all__ = ["PENDING_KEY", "ROTATION_ANNOTATION", "STEPS", "Action", "Works", "backoff", "delivery_held",
           "due_on_release", "live_holders", "may_attempt", "next_due", "next_scheduled", "owed_on_release", "recover",
           "requested", "rotation_reason"]
