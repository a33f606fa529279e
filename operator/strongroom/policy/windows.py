"""For how long: the requested time checked against the Safe's policy, and the access window
(notBefore, notAfter) computed when a request is approved or activated.

A duration counts from activation (approval, or the window's start when later), never from the
request's creation. The window can only shrink after it was asked for: approvers narrow it, the end
of the requester's membership or schedule window cuts it, and nothing widens it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from strongroom.api.accessrequest import RejectionReason, TimeWindow
from strongroom.api.common import format_time
from strongroom.api.safe import SafePolicy
from strongroom.policy.decision import Decision
from strongroom.policy.durations import format_duration, parse_duration

# A window starting this little ahead is "now": clocks of client and operator differ a bit.
CLOCK_SKEW = timedelta(minutes=1)


@dataclass(frozen=True)
class AccessWindow:
    not_before: datetime
    not_after: datetime


@dataclass(frozen=True)
class WindowResult:
    """The computed window when `decision.allowed`, else None."""

    decision: Decision
    window: AccessWindow | None = None


def _maximum(policy: SafePolicy) -> timedelta | None:
    return parse_duration(policy.max_duration) if policy.max_duration else None


def _requested_duration(duration: str) -> timedelta | Decision:
    # Syntax is checked by the API; "0m" passes the pattern but asks for nothing.
    try:
        return parse_duration(duration)
    except ValueError as error:
        return Decision.deny(RejectionReason.INVALID_WINDOW, str(error))


def _over_maximum(length: timedelta, maximum: timedelta | None) -> Decision | None:
    if maximum is not None and length > maximum:
        return Decision.deny(
            RejectionReason.DURATION_OVER_MAXIMUM,
            f"{format_duration(length)} is longer than the Safe allows ({format_duration(maximum)})",
        )
    return None


def _check_schedule_ahead(policy: SafePolicy, window: TimeWindow, now: datetime) -> Decision | None:
    if window.start <= now + CLOCK_SKEW:
        return None
    if not policy.allow_scheduled:
        return Decision.deny(RejectionReason.SCHEDULED_NOT_ALLOWED, "the Safe does not allow windows that start later")
    ahead = parse_duration(policy.max_schedule_ahead) if policy.max_schedule_ahead else None
    if ahead is not None and window.start - now > ahead:
        return Decision.deny(
            RejectionReason.SCHEDULE_TOO_FAR_AHEAD,
            f"the window starts more than {format_duration(ahead)} ahead ({format_time(window.start)})",
        )
    return None


def _check_window(policy: SafePolicy, window: TimeWindow, now: datetime) -> Decision:
    if window.end <= window.start:
        return Decision.deny(RejectionReason.INVALID_WINDOW, "the window ends before it starts")
    if window.end <= now:
        return Decision.deny(RejectionReason.INVALID_WINDOW, f"the window ended at {format_time(window.end)}")
    refusal = _check_schedule_ahead(policy, window, now)
    # Only the part still ahead counts: a window that began a while ago gives that much less.
    refusal = refusal or _over_maximum(window.end - max(window.start, now), _maximum(policy))
    return refusal or Decision.allow()


def check_requested_time(
    policy: SafePolicy, duration: str | None, window: TimeWindow | None, now: datetime
) -> Decision:
    """What a new request asks for, against the Safe's policy (at creation, before any review).

    Raises ValueError when the Safe's own durations cannot be parsed.
    """
    if duration is not None and window is not None:
        return Decision.deny(RejectionReason.INVALID_WINDOW, "give either duration or window, not both")
    if window is not None:
        return _check_window(policy, window, now)
    if duration is None:
        return Decision.allow()  # the default duration is cut to the maximum, never refused
    length = _requested_duration(duration)
    if isinstance(length, Decision):
        return length
    return _over_maximum(length, _maximum(policy)) or Decision.allow()


def _planned_end(
    policy: SafePolicy, duration: str | None, window: TimeWindow | None, start: datetime
) -> datetime | Decision:
    """The end as asked for, refused when over the maximum; the default is cut to it instead."""
    maximum = _maximum(policy)
    if window is not None:
        return _over_maximum(window.end - start, maximum) or window.end
    if duration is None:
        default = parse_duration(policy.default_duration)
        return start + (min(default, maximum) if maximum is not None else default)
    length = _requested_duration(duration)
    if isinstance(length, Decision):
        return length
    return _over_maximum(length, maximum) or start + length


def _earliest(first: datetime, others: Iterable[datetime | None]) -> datetime:
    return min([first, *(moment for moment in others if moment is not None)])


def grant_window(
    policy: SafePolicy,
    *,
    duration: str | None,
    window: TimeWindow | None,
    activation: datetime,
    narrowings: Iterable[datetime] = (),
    eligible_until: datetime | None = None,
) -> WindowResult:
    """notBefore/notAfter for a request approved (or activated) at `activation`.

    notBefore is `activation`, or the window's start when later. notAfter is the window's end, or
    notBefore plus the requested duration (else the default, cut to the maximum); then the earliest
    of that, every approver narrowing, and `eligible_until` (the `until` of the requester's
    eligibility at notBefore: the end of their membership or of the schedule window access starts
    in). The maximum is applied again, as the Safe may have changed since the request was created;
    whether a window may start later was decided then and is not asked again.

    Raises ValueError when the Safe's own durations cannot be parsed.
    """
    if duration is not None and window is not None:
        return WindowResult(Decision.deny(RejectionReason.INVALID_WINDOW, "give either duration or window, not both"))
    not_before = max(activation, window.start) if window is not None else activation
    planned = _planned_end(policy, duration, window, not_before)
    if isinstance(planned, Decision):
        return WindowResult(planned)
    not_after = _earliest(planned, [*narrowings, eligible_until])
    if not_after <= not_before:
        return WindowResult(
            Decision.deny(
                RejectionReason.INVALID_WINDOW,
                f"nothing is left of the window: it would end at {format_time(not_after)}, "
                f"before access starts at {format_time(not_before)}",
            )
        )
    return WindowResult(Decision.allow(until=not_after), AccessWindow(not_before, not_after))
