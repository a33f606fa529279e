from datetime import UTC, datetime

from strongroom.api.accessrequest import RejectionReason
from strongroom.policy.decision import Decision


def test_an_allowance_has_no_reason_an_empty_message_by_default_and_keeps_its_message_and_end() -> None:
    assert Decision.allow() == Decision(True, None, "", None)
    end = datetime(2025, 3, 3, 12, tzinfo=UTC)
    assert Decision.allow("a member", until=end) == Decision(True, None, "a member", end)


def test_a_denial_carries_its_reason_and_message_and_no_end() -> None:
    denial = Decision.deny(RejectionReason.NOT_A_MEMBER, "not a member")
    assert denial == Decision(False, RejectionReason.NOT_A_MEMBER, "not a member", None)
