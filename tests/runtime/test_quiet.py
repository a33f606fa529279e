"""Nothing happens when nothing happens: with a few hundred idle objects (finished, pending, active)
the operator makes no API call for them and writes no log line for a minute. Asserted loosely, as
behaviour: what is counted is calls and lines, never time."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.controllers.helpers import phase
from tests.operators import InProcessOperator
from tests.waiting import eventually
from tests.world import World

QUIET_SECONDS = 60
pytestmark = pytest.mark.slow


def calls(operator: InProcessOperator) -> dict[str, float]:
    counted: dict[str, float] = {}
    for metric in operator.ctx.metrics.api_requests.collect():
        for sample in metric.samples:
            if sample.name.endswith("_total"):
                resource = sample.labels["resource"]
                counted[resource] = counted.get(resource, 0) + sample.value
    return counted


def filed(world: World, user: str, count: int) -> list[str]:
    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(lambda _: world.request(user, wait=False, duration="8h")["metadata"]["name"],
                             range(count)))


def test_a_minute_with_hundreds_of_idle_objects_costs_no_call_and_no_line(
    operator: InProcessOperator, make_world
) -> None:
    finished = make_world(members=[{"users": ["alice"]}])  # erin is no member: rejected at once
    pending = make_world(policy={"approvalTimeout": "24h"})
    granted = make_world(policy={"requiredApprovals": 0})
    names = {"Rejected": filed(finished, "erin", 120), "Pending": filed(pending, "alice", 120),
             "Active": filed(granted, "alice", 60)}
    worlds = {"Rejected": finished, "Pending": pending, "Active": granted}
    for wanted, requests in names.items():
        world = worlds[wanted]
        eventually(lambda w=world, r=requests, p=wanted: all(phase(w, n) == p for n in r), timeout=120,
                   what=f"{len(requests)} requests {wanted}")
    operator.settle()
    lines_before, calls_before = operator.output().count("\n"), calls(operator)
    time.sleep(QUIET_SECONDS)
    operator.settle()
    made = {k: v - calls_before.get(k, 0) for k, v in calls(operator).items() if v != calls_before.get(k, 0)}
    lines = operator.output().count("\n") - lines_before
    # Leader election renews its Lease every retry period and each replica beats its heartbeat: the price
    # of having a leader, the same for 3 objects or 3,000. Everything else: at most the rare, spread look
    # at an Account's Secret (the operator cannot watch Secrets).
    per_object = {k: v for k, v in made.items() if k != "leases"}
    assert sum(per_object.values()) <= 3, made
    assert made.get("leases", 0) <= 2 * QUIET_SECONDS / 2 + 4, made
    assert lines == 0, operator.output().splitlines()[-lines:]
