"""Rotation with the local provider on the real API server, time moved by the test: check-in rotation
with exclusive check-out behaves like a vault check-out, a rotation owed on release never changes the
password under a holder still inside her window, and `requestedAt` rotates once, when it comes."""

from __future__ import annotations

from datetime import timedelta

from kubernetes import client

from strongroom.devcluster.sample import SECRET
from strongroom.rotation.protocol import PENDING_KEY
from tests.controllers.helpers import active, reaches, secret
from tests.operators import InProcessOperator
from tests.rotation.helpers import (
    account,
    assert_nowhere,
    delivered,
    events_of,
    last_rotated,
    release,
    request_rotation,
    rotated_from,
    rotation_status,
    set_rotation,
    settled_password,
    vaulted,
)
from tests.waiting import eventually
from tests.world import World


def test_exclusive_checkout_with_rotate_on_release_gives_each_holder_a_fresh_password(
    operator: InProcessOperator, make_world
) -> None:
    world: World = make_world(policy={"requiredApprovals": 0, "exclusiveCheckout": True})
    set_rotation(world, {"onRelease": True, "passwordPolicy": {"length": 20}})
    first, first_secret = active(world, "alice")
    assert delivered(world, first_secret, "alice")[1]["password"] == world.password
    release(world, "alice", first)
    rotated = rotated_from(world, world.password)
    assert len(rotated) == 20
    status = rotation_status(world)
    assert status["lastResult"] == "Succeeded" and status["failures"] == 0
    assert "a grant ended" in status["message"]
    _, second_secret = active(world, "erin", "30m")
    _, handed = delivered(world, second_secret, "erin")
    assert handed["password"] == rotated
    assert PENDING_KEY not in handed
    operator.settle()
    assert settled_password(world) == rotated, "rotated again while erin holds the account"
    eventually(lambda: len(events_of(world, "Rotated")) == 1, what="one Rotated Event")
    operator.advance(timedelta(minutes=30))  # erin's window ends: the next holder gets a fresh one again
    third = rotated_from(world, rotated)
    assert secret(world, second_secret, "admin") is None
    assert_nowhere(world, [world.password, rotated, third], operator.output())


def test_a_rotation_owed_on_release_waits_until_the_other_holders_window_ends(
    operator: InProcessOperator, make_world
) -> None:
    world: World = make_world(policy={"requiredApprovals": 0})
    set_rotation(world, {"onRelease": True})
    first, _ = active(world, "alice", "30m")
    _, erins = active(world, "erin", "1h")
    held = delivered(world, erins, "erin")
    assert held[1]["password"] == world.password
    release(world, "alice", first)
    operator.settle()
    assert vaulted(world)["password"] == world.password and PENDING_KEY not in vaulted(world), \
        "the password changed under erin, who is still inside her window"
    assert delivered(world, erins, "erin") == held, "erin's Secret changed"
    assert "lastRotated" not in rotation_status(world)
    operator.advance(timedelta(minutes=59))
    operator.settle()
    assert settled_password(world) == world.password and delivered(world, erins, "erin") == held
    operator.advance(timedelta(minutes=1))
    rotated = rotated_from(world, world.password)
    assert secret(world, erins, "admin") is None
    assert "a grant ended" in rotation_status(world)["message"]
    assert_nowhere(world, [world.password, rotated], operator.output())


def test_a_new_holder_shares_the_current_password_while_another_still_holds_it(
    operator: InProcessOperator, make_world
) -> None:
    world: World = make_world(policy={"requiredApprovals": 0})
    set_rotation(world, {"onRelease": True})
    first, _ = active(world, "alice", "30m")
    _, erins = active(world, "erin", "1h")
    release(world, "alice", first)
    again, alices = active(world, "alice", "20m")  # delivered at once: no rotation to wait for
    assert delivered(world, alices, "alice")[1]["password"] == world.password
    operator.advance(timedelta(minutes=20))
    reaches(world, again, "Expired")
    operator.settle()
    assert settled_password(world) == world.password, "rotated while erin still holds the account"
    assert delivered(world, erins, "erin")[1]["password"] == world.password
    operator.advance(timedelta(minutes=40))
    rotated_from(world, world.password)


def test_requested_at_rotates_now_and_only_once(operator: InProcessOperator, world: World) -> None:
    request_rotation(world, operator.clock.now())
    eventually(lambda: rotation_status(world).get("lastResult") == "Succeeded", what="rotated")
    once = vaulted(world)["password"]
    assert once != world.password
    first = rotation_status(world)["lastRotated"]
    operator.advance(timedelta(hours=1))
    operator.settle()
    assert vaulted(world)["password"] == once and rotation_status(world)["lastRotated"] == first
    assert len(events_of(world, "Rotated")) == 1


def test_a_requested_at_ahead_of_the_operators_clock_rotates_once_when_it_comes(
    operator: InProcessOperator, world: World
) -> None:
    """The CLI stamps requestedAt with the requester's clock, which may run ahead of the operator's."""
    asked = (operator.clock.now() + timedelta(minutes=5)).replace(microsecond=0)
    request_rotation(world, asked)
    operator.settle()
    assert vaulted(world)["password"] == world.password and not rotation_status(world), "rotated before it was asked"
    operator.advance(timedelta(minutes=5))
    rotated = rotated_from(world, world.password)
    operator.settle()
    assert settled_password(world) == rotated, "rotated more than once"
    rotated_at = last_rotated(world)
    assert rotated_at is not None and rotated_at >= asked
    assert len(events_of(world, "Rotated")) == 1


def test_an_account_in_a_vault_the_operator_may_not_read_is_not_rotated_and_says_why(
    operator: InProcessOperator, world: World
) -> None:
    rbac = client.RbacAuthorizationV1Api(world.clients["admin"])
    rbac.delete_namespaced_role_binding("strongroom-operator-vault-access", world.vault)
    request_rotation(world, operator.clock.now())

    def ready() -> dict:
        conditions = (account(world).get("status") or {}).get("conditions") or []
        return next((c for c in conditions if c["type"] == "Ready" and c["status"] == "False"), {})

    refused = eventually(ready, what="Ready false")
    assert "strongroom-vault-access" in refused["message"]
    operator.settle()
    assert vaulted(world) == {"password": world.password, "sslmode": "require"}
    assert not rotation_status(world)


def test_a_grant_held_for_a_rotation_says_so_and_ends_with_its_window(
    operator: InProcessOperator, make_world
) -> None:
    world: World = make_world(policy={"requiredApprovals": 0})
    # A rotation cut short and its configuration then removed leaves a pending password that nothing
    # settles: no credential is handed out, and the Grant says what it waits for until its window ends.
    world.core("admin").patch_namespaced_secret(SECRET, world.vault, {"stringData": {PENDING_KEY: "unsettled"}})
    name = world.request("alice", duration="30m")["metadata"]["name"]
    held = reaches(world, name, "Scheduled", kind="Grant")
    assert held["history"][-1]["message"] == (
        f"access for alice waits for account {world.vault}/{world.account} to be rotated")
    operator.settle()
    assert secret(world, world.get("Grant", name)["spec"]["secretName"], "admin") is None
    operator.advance(timedelta(minutes=30))
    assert reaches(world, name, "Expired", kind="Grant")["history"][-1]["event"] == "Expired"
