"""Decisions made at the same moment: the operator decides requests in parallel, so the policies that
count grants (exclusive check-out, a per-user limit) must still hold when the requests arrive at once."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from tests.controllers.helpers import phase, status
from tests.operators import InProcessOperator
from tests.waiting import eventually
from tests.world import World

AT_ONCE = 6


def decided_at_once(world: World, users: list[str]) -> dict[str, str]:
    """File one request per user, all at once; return each one's settled phase (Active or Rejected)."""
    with ThreadPoolExecutor(len(users)) as pool:
        names = list(pool.map(lambda user: world.request(user, wait=False, duration="30m")["metadata"]["name"],
                              users))
    settled = ("Active", "Rejected")
    eventually(lambda: all(phase(world, name) in settled for name in names), timeout=30, what="all decided")
    return {name: phase(world, name) for name in names}


def test_exclusive_checkout_admits_one_holder_of_requests_approved_at_once(
    operator: InProcessOperator, make_world
) -> None:
    world: World = make_world(policy={"requiredApprovals": 0, "exclusiveCheckout": True})
    phases = decided_at_once(world, ["alice", "erin"] * (AT_ONCE // 2))
    assert Counter(phases.values()) == {"Active": 1, "Rejected": AT_ONCE - 1}
    rejected = [name for name, found in phases.items() if found == "Rejected"]
    assert {status(world, name)["rejectedReason"] for name in rejected} == {"AccountCheckedOut"}


def test_the_per_user_limit_holds_for_requests_filed_at_once(operator: InProcessOperator, make_world) -> None:
    world: World = make_world(policy={"requiredApprovals": 0, "maxActiveGrantsPerUser": 2})
    phases = decided_at_once(world, ["alice"] * AT_ONCE)
    assert Counter(phases.values()) == {"Active": 2, "Rejected": AT_ONCE - 2}
    rejected = [name for name, found in phases.items() if found == "Rejected"]
    assert {status(world, name)["rejectedReason"] for name in rejected} == {"TooManyActiveGrants"}
