"""Every from -> to pair of both state machines, checked against the table written out by hand."""

import itertools

import pytest

from strongroom.api.phases import (
    ACCESS_REQUEST_TRANSITIONS,
    GRANT_TRANSITIONS,
    AccessRequestPhase,
    GrantPhase,
    IllegalMove,
    Phase,
    can_move,
    cel_transition_rule,
    is_terminal,
    move,
)

AR = AccessRequestPhase
G = GrantPhase

# The contract, spelled out independently of the module's table.
ACCESS_REQUEST_MOVES = {
    (AR.PENDING, AR.APPROVED),
    (AR.PENDING, AR.ACTIVE),  # approved, and access began at once
    (AR.PENDING, AR.DENIED),
    (AR.PENDING, AR.TIMED_OUT),
    (AR.PENDING, AR.REJECTED),
    (AR.APPROVED, AR.ACTIVE),
    (AR.APPROVED, AR.REVOKED),
    (AR.APPROVED, AR.RELEASED),
    (AR.APPROVED, AR.EXPIRED),
    (AR.APPROVED, AR.REJECTED),
    (AR.ACTIVE, AR.EXPIRED),
    (AR.ACTIVE, AR.RELEASED),
    (AR.ACTIVE, AR.REVOKED),
}
GRANT_MOVES = {
    (G.SCHEDULED, G.ACTIVE),
    (G.SCHEDULED, G.REVOKED),
    (G.SCHEDULED, G.RELEASED),
    (G.SCHEDULED, G.EXPIRED),
    (G.ACTIVE, G.EXPIRED),
    (G.ACTIVE, G.RELEASED),
    (G.ACTIVE, G.REVOKED),
}
PAIRS = [
    *itertools.product(AccessRequestPhase, repeat=2),
    *itertools.product(GrantPhase, repeat=2),
]


@pytest.mark.parametrize(("from_", "to"), PAIRS, ids=lambda phase: f"{type(phase).__name__[0]}:{phase}")
def test_a_move_is_allowed_exactly_when_the_contract_lists_it_or_it_stays(from_: Phase, to: Phase) -> None:
    expected = from_ == to or (from_, to) in ACCESS_REQUEST_MOVES | GRANT_MOVES
    assert can_move(from_, to) is expected


def test_terminal_phases_are_those_that_lead_nowhere() -> None:
    assert {p for p in AccessRequestPhase if is_terminal(p)} == {
        AR.EXPIRED,
        AR.RELEASED,
        AR.REVOKED,
        AR.DENIED,
        AR.TIMED_OUT,
        AR.REJECTED,
    }
    assert {p for p in GrantPhase if is_terminal(p)} == {G.EXPIRED, G.REVOKED, G.RELEASED}


def test_every_phase_has_a_row_in_its_table() -> None:
    assert set(ACCESS_REQUEST_TRANSITIONS) == set(AccessRequestPhase)
    assert set(GRANT_TRANSITIONS) == set(GrantPhase)


def test_phases_of_different_kinds_cannot_be_compared() -> None:
    with pytest.raises(TypeError, match="different kinds"):
        can_move(AR.ACTIVE, G.ACTIVE)


def test_the_cel_rule_lists_every_move_and_no_terminal_phase_as_a_source() -> None:
    rule = cel_transition_rule(ACCESS_REQUEST_TRANSITIONS)
    assert "'Pending': ['Active', 'Approved', 'Denied', 'Rejected', 'TimedOut']" in rule
    assert "'Released':" not in rule
    assert rule.startswith("!has(oldSelf.phase) || self.phase == oldSelf.phase")


@pytest.mark.parametrize(("kind", "contract"), [(AccessRequestPhase, ACCESS_REQUEST_MOVES), (GrantPhase, GRANT_MOVES)])
def test_move_the_one_gate_of_every_status_write_refuses_every_pair_the_contract_does_not_list(
    kind: type, contract: set
) -> None:
    for start, to in itertools.product(kind, kind):
        if to == start or (start, to) in contract:
            assert move(start, to) is to
        else:
            with pytest.raises(IllegalMove, match=f"from {start} to {to}"):
                move(start, to)


def test_a_first_status_moves_from_the_initial_phase() -> None:
    assert move(None, AR.REJECTED) is AR.REJECTED and move(None, AR.ACTIVE) is AR.ACTIVE
    assert move(None, G.ACTIVE) is G.ACTIVE
    with pytest.raises(IllegalMove):
        move(None, AR.EXPIRED)
