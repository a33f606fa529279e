"""The phases of an AccessRequest and of a Grant, and the moves allowed between them.

Every status write, and the CEL rule on each kind's status, goes through this table.

AccessRequest::

    Pending ──► Approved ──► Active ──► Expired | Released | Revoked
       │  │         │
       │  │         └──► Expired | Released | Revoked | Rejected   (never activated)
       │  └──► Active                                            (approved, and access began at once)
       └──► Denied | TimedOut | Rejected

Grant::

    Scheduled ──► Active ──► Expired | Released | Revoked
        └──► Expired | Released | Revoked

Terminal phases go nowhere; moving to the phase an object is already in is always allowed, so
reconciling the same object twice is harmless. Every phase the operator writes goes through `move`,
and the CRDs' CEL rule on status.phase is generated from the same tables.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping


class AccessRequestPhase(enum.StrEnum):
    PENDING = "Pending"
    APPROVED = "Approved"
    ACTIVE = "Active"
    EXPIRED = "Expired"
    RELEASED = "Released"
    REVOKED = "Revoked"
    DENIED = "Denied"
    TIMED_OUT = "TimedOut"
    REJECTED = "Rejected"


class GrantPhase(enum.StrEnum):
    SCHEDULED = "Scheduled"
    ACTIVE = "Active"
    EXPIRED = "Expired"
    REVOKED = "Revoked"
    RELEASED = "Released"


Phase = AccessRequestPhase | GrantPhase

_AR = AccessRequestPhase
ACCESS_REQUEST_TRANSITIONS: Mapping[AccessRequestPhase, frozenset[AccessRequestPhase]] = {
    _AR.PENDING: frozenset({_AR.APPROVED, _AR.ACTIVE, _AR.DENIED, _AR.TIMED_OUT, _AR.REJECTED}),
    _AR.APPROVED: frozenset({_AR.ACTIVE, _AR.REVOKED, _AR.RELEASED, _AR.EXPIRED, _AR.REJECTED}),
    _AR.ACTIVE: frozenset({_AR.EXPIRED, _AR.RELEASED, _AR.REVOKED}),
    _AR.EXPIRED: frozenset(),
    _AR.RELEASED: frozenset(),
    _AR.REVOKED: frozenset(),
    _AR.DENIED: frozenset(),
    _AR.TIMED_OUT: frozenset(),
    _AR.REJECTED: frozenset(),
}

_G = GrantPhase
GRANT_TRANSITIONS: Mapping[GrantPhase, frozenset[GrantPhase]] = {
    _G.SCHEDULED: frozenset({_G.ACTIVE, _G.REVOKED, _G.RELEASED, _G.EXPIRED}),
    _G.ACTIVE: frozenset({_G.EXPIRED, _G.RELEASED, _G.REVOKED}),
    _G.EXPIRED: frozenset(),
    _G.REVOKED: frozenset(),
    _G.RELEASED: frozenset(),
}

INITIAL_ACCESS_REQUEST_PHASE = AccessRequestPhase.PENDING
INITIAL_GRANT_PHASE = GrantPhase.SCHEDULED


def allowed_targets(phase: Phase) -> frozenset[Phase]:
    """The phases `phase` may move on to (not counting itself)."""
    if isinstance(phase, AccessRequestPhase):
        return ACCESS_REQUEST_TRANSITIONS[phase]
    if isinstance(phase, GrantPhase):
        return GRANT_TRANSITIONS[phase]
    raise TypeError(f"not a phase enum: {phase!r}")


def is_terminal(phase: Phase) -> bool:
    """Whether nothing can follow this phase."""
    return not allowed_targets(phase)


def can_move(from_: Phase, to: Phase) -> bool:
    """Whether a status write may change the phase from `from_` to `to`.

    Both must be phases of the same kind; mixing an AccessRequest phase with a Grant phase is a bug
    (they share names such as Active), so it raises TypeError.
    """
    if type(from_) is not type(to):
        raise TypeError(f"cannot compare phases of different kinds: {from_!r} and {to!r}")
    return from_ == to or to in allowed_targets(from_)


class IllegalMove(ValueError):
    """A phase change the table does not allow: a bug in the caller, never written."""


def move(from_: Phase | None, to: Phase) -> Phase:
    """`to`, when an object in phase `from_` (None: no status yet) may move there; else IllegalMove.

    The one gate for every phase the operator writes: a controller asks for a move, this says
    whether it is legal, and the status writer writes only what passed."""
    start = from_ if from_ is not None else (
        INITIAL_ACCESS_REQUEST_PHASE if isinstance(to, AccessRequestPhase) else INITIAL_GRANT_PHASE)
    if not can_move(start, to):
        raise IllegalMove(f"{type(to).__name__} may not move from {start} to {to}")
    return to


def cel_transition_rule(table: Mapping[Phase, frozenset[Phase]]) -> str:
    """A CEL rule for a status schema that allows exactly the moves in `table`.

    Generated here so the API server enforces the same table as the operator. Terminal phases are
    left out of the map (an empty list literal would not type-check as a list of strings), so a
    terminal old phase only passes the rule by staying the same. Sorted, so the CRD is stable.
    """
    entries = ", ".join(
        f"'{phase}': [{', '.join(repr(str(to)) for to in sorted(targets))}]"
        for phase, targets in sorted(table.items())
        if targets
    )
    moves = f"{{{entries}}}"
    return (
        "!has(oldSelf.phase) || self.phase == oldSelf.phase || "
        f"(oldSelf.phase in {moves} && self.phase in {moves}[oldSelf.phase])"
    )
