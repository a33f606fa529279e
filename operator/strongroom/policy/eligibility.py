"""May this user request the Safe's accounts for delivery into this namespace, now?

Checked when a request is created (with `now` = when access would start: the current time, or a
scheduled window's start), again at activation, and whenever the Safe changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from strongroom.api.accessrequest import RejectionReason
from strongroom.api.common import format_time
from strongroom.api.safe import Member, SafePolicy, SafeSpec
from strongroom.policy.decision import Decision
from strongroom.policy.schedules import window_end
from strongroom.policy.selectors import namespace_allowed


def is_listed(member: Member, user: str, groups: Iterable[str]) -> bool:
    """Whether the entry names the user, or one of the user's groups."""
    return user in member.users or not set(member.groups).isdisjoint(groups)


def membership_valid(member: Member, now: datetime) -> bool:
    """validFrom is inclusive, validUntil exclusive."""
    if member.valid_from is not None and now < member.valid_from:
        return False
    return member.valid_until is None or now < member.valid_until


def _earliest(*moments: datetime | None) -> datetime | None:
    known = [moment for moment in moments if moment is not None]
    return min(known) if known else None


def _open_until(safe: SafeSpec, member: Member, now: datetime) -> tuple[bool, datetime | None]:
    """Whether the member's schedule is open now, and until when the entry holds (None: no end)."""
    if member.schedule is None:
        return True, member.valid_until
    schedule = safe.schedule(member.schedule)
    if schedule is None:
        raise ValueError(f"member schedule {member.schedule!r} is not one of the Safe's schedules")
    end = window_end(schedule, now)
    return end is not None, _earliest(end, member.valid_until)


def _latest(moments: list[datetime | None]) -> datetime | None:
    # None is "no end", which outlasts any time.
    return None if any(moment is None for moment in moments) else max(m for m in moments if m is not None)


def _not_current_message(user: str, entries: list[Member], now: datetime) -> str:
    starts = [m.valid_from for m in entries if m.valid_from is not None and now < m.valid_from]
    if starts:
        return f"{user}'s membership of the Safe starts at {format_time(min(starts))}"
    return f"{user}'s membership of the Safe has ended"


def check_membership(safe: SafeSpec, user: str, groups: Iterable[str], now: datetime) -> Decision:
    """Member by user or group, within validFrom/validUntil, inside the entry's schedule if any.

    Several entries may apply; the one that lasts longest decides `until`.
    """
    groups = list(groups)
    entries = [member for member in safe.members if is_listed(member, user, groups)]
    if not entries:
        return Decision.deny(RejectionReason.NOT_A_MEMBER, f"{user} is not a member of the Safe, by name or group")
    current = [member for member in entries if membership_valid(member, now)]
    if not current:
        return Decision.deny(RejectionReason.NOT_A_MEMBER, _not_current_message(user, entries, now))
    open_until = [_open_until(safe, member, now) for member in current]
    ends = [until for is_open, until in open_until if is_open]
    if not ends:
        names = sorted({member.schedule for member in current if member.schedule})
        return Decision.deny(
            RejectionReason.OUTSIDE_SCHEDULE, f"{format_time(now)} is outside the schedule {', '.join(names)}"
        )
    return Decision.allow(f"{user} is a member of the Safe", until=_latest(ends))


def check_requester(
    safe: SafeSpec,
    user: str,
    groups: Iterable[str],
    namespace: str,
    namespace_labels: Mapping[str, str],
    *,
    now: datetime,
    require_membership: bool = True,
) -> Decision:
    """The Safe is not blocked, the user is a current member inside their schedule (unless
    `require_membership` is off: a standing grant the Safe allows), and the namespace is one the Safe
    delivers to. `until` says how long that holds (membership end, schedule window end), so a grant can
    be cut to it.

    Raises ValueError for a Safe that cannot be evaluated (unknown time zone or schedule).
    """
    if safe.blocked:
        return Decision.deny(RejectionReason.SAFE_BLOCKED, f"the Safe is blocked: {safe.blocked_reason}")
    membership = check_membership(safe, user, groups, now) if require_membership else Decision.allow()
    if not membership.allowed:
        return membership
    if not namespace_allowed(safe.policy.allowed_namespaces, namespace, namespace_labels):
        return Decision.deny(
            RejectionReason.NAMESPACE_NOT_ALLOWED,
            f"the Safe does not deliver credentials to namespace {namespace}",
        )
    return membership


def check_justification(policy: SafePolicy, reason: str | None, ticket: str | None) -> Decision:
    """A reason and a ticket where the Safe requires them; blank counts as missing."""
    if policy.require_reason and not (reason or "").strip():
        return Decision.deny(RejectionReason.REASON_REQUIRED, "the Safe requires a reason for every request")
    if policy.require_ticket and not (ticket or "").strip():
        return Decision.deny(RejectionReason.TICKET_REQUIRED, "the Safe requires a ticket for every request")
    return Decision.allow()
