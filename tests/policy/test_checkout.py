from strongroom.api.accessrequest import RejectionReason
from strongroom.policy.checkout import check_exclusive_checkout, check_grants_per_user, counts_grants

from .builders import at, grant, policy

NOW = at("2025-03-03T10:00:00Z")
EXCLUSIVE = policy(exclusiveCheckout=True).policy
WANTED = (at("2025-03-03T10:00:00Z"), at("2025-03-03T11:00:00Z"))


def test_without_exclusive_checkout_any_number_may_hold_an_account() -> None:
    held = [grant("g1", "bob", "2025-03-03T09:00:00Z", "2025-03-03T12:00:00Z")]
    assert check_exclusive_checkout(policy().policy, held, *WANTED, now=NOW).allowed


def test_an_account_checked_out_by_someone_else_is_refused_until_it_is_returned() -> None:
    held = [grant("g1", "bob", "2025-03-03T09:00:00Z", "2025-03-03T10:30:00Z")]
    decision = check_exclusive_checkout(EXCLUSIVE, held, *WANTED, now=NOW)
    assert decision.reason == RejectionReason.ACCOUNT_CHECKED_OUT
    assert "bob until 2025-03-03T10:30:00Z" in decision.message


def test_a_scheduled_grant_blocks_only_the_time_it_covers() -> None:
    later = [grant("g1", "bob", "2025-03-03T11:00:00Z", "2025-03-03T12:00:00Z", phase="Scheduled")]
    assert check_exclusive_checkout(EXCLUSIVE, later, *WANTED, now=NOW).allowed
    overlapping = [grant("g1", "bob", "2025-03-03T10:59:00Z", "2025-03-03T12:00:00Z", phase="Scheduled")]
    assert not check_exclusive_checkout(EXCLUSIVE, overlapping, *WANTED, now=NOW).allowed


def test_ended_grants_do_not_hold_the_account() -> None:
    ended = [
        grant("g1", "bob", "2025-03-03T09:00:00Z", "2025-03-03T12:00:00Z", phase="Released"),
        grant("g2", "bob", "2025-03-03T09:00:00Z", "2025-03-03T10:00:00Z", phase="Active"),  # past notAfter
    ]
    assert check_exclusive_checkout(EXCLUSIVE, ended, *WANTED, now=NOW).allowed


def test_the_requests_own_grant_does_not_stand_in_its_way() -> None:
    own = [grant("mine", "alice", "2025-03-03T10:00:00Z", "2025-03-03T11:00:00Z")]
    assert check_exclusive_checkout(EXCLUSIVE, own, *WANTED, now=NOW, exclude={("team", "mine")}).allowed


def test_a_user_at_the_per_user_limit_is_refused_and_others_are_not() -> None:
    limited = policy(maxActiveGrantsPerUser=2).policy
    grants = [
        grant("g1", "alice", "2025-03-03T09:00:00Z", "2025-03-03T12:00:00Z", account="a1"),
        grant("g2", "alice", "2025-03-03T09:00:00Z", "2025-03-03T12:00:00Z", account="a2"),
        grant("g3", "alice", "2025-03-03T08:00:00Z", "2025-03-03T09:00:00Z", account="a3", phase="Expired"),
        grant("g4", "bob", "2025-03-03T09:00:00Z", "2025-03-03T12:00:00Z", account="a1"),
    ]
    refused = check_grants_per_user(limited, "alice", grants, now=NOW)
    assert refused.reason == RejectionReason.TOO_MANY_ACTIVE_GRANTS
    assert "holds 2 grant(s)" in refused.message
    assert check_grants_per_user(limited, "bob", grants, now=NOW).allowed
    assert check_grants_per_user(limited, "alice", grants[1:], now=NOW).allowed


def test_without_a_per_user_limit_any_number_is_allowed() -> None:
    grants = [grant(f"g{i}", "alice", "2025-03-03T09:00:00Z", "2025-03-03T12:00:00Z") for i in range(5)]
    assert check_grants_per_user(policy().policy, "alice", grants, now=NOW).allowed


def test_only_exclusive_checkout_or_a_per_user_limit_makes_a_decision_count_grants() -> None:
    assert not counts_grants(policy().policy)
    assert counts_grants(policy(exclusiveCheckout=True).policy)
    assert counts_grants(policy(maxActiveGrantsPerUser=1).policy)


def test_a_grant_ending_exactly_when_the_wanted_window_starts_does_not_block_it() -> None:
    before = [grant("g1", "bob", "2025-03-03T09:00:00Z", "2025-03-03T10:00:00Z")]
    earlier = at("2025-03-03T09:30:00Z")
    assert check_exclusive_checkout(EXCLUSIVE, before, *WANTED, now=earlier).allowed
    after = [grant("g1", "bob", "2025-03-03T11:00:00Z", "2025-03-03T12:00:00Z", phase="Scheduled")]
    assert check_exclusive_checkout(EXCLUSIVE, after, *WANTED, now=earlier).allowed


def test_a_grant_at_its_not_after_no_longer_holds_the_account_or_counts_for_its_user() -> None:
    wanted = (at("2025-03-03T09:30:00Z"), at("2025-03-03T11:00:00Z"))
    ending = [grant("g1", "bob", "2025-03-03T09:00:00Z", "2025-03-03T10:00:00Z")]
    assert check_exclusive_checkout(EXCLUSIVE, ending, *wanted, now=NOW).allowed
    assert not check_exclusive_checkout(EXCLUSIVE, ending, *wanted, now=at("2025-03-03T09:59:59Z")).allowed
    limited = policy(maxActiveGrantsPerUser=1).policy
    assert check_grants_per_user(limited, "bob", ending, now=NOW).allowed
    assert not check_grants_per_user(limited, "bob", ending, now=at("2025-03-03T09:59:59Z")).allowed
