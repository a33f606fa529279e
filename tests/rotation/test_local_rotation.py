"""Rotation with the local provider on the real API server: check-in rotation with exclusive check-out
behaves like a vault check-out, and `requestedAt` rotates now."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime

from tests.conftest import OperatorProcess
from tests.operator.test_lifecycle import active, phase, secret
from tests.rotation.helpers import events_text, rotation_status, set_rotation, settled_password, vaulted
from tests.waiting import eventually
from tests.world import World


def test_exclusive_checkout_with_rotate_on_release_gives_each_holder_a_fresh_password(
    operator: OperatorProcess, make_world
) -> None:
    world: World = make_world(policy={"requiredApprovals": 0, "exclusiveCheckout": True})
    set_rotation(world, {"onRelease": True, "passwordPolicy": {"length": 20}})
    first, first_secret = active(world, "alice")
    seen = base64.b64decode(secret(world, first_secret).data["password"]).decode()
    assert seen == world.password
    world.patch("alice", "AccessRequest", first, {"spec": {"release": True}})
    eventually(lambda: phase(world, first) == "Released", what="Released")
    rotated = eventually(lambda: settled_password(world) not in (None, world.password) and settled_password(world),
                         what="a new password stored")
    assert len(rotated) == 20
    status = rotation_status(world)
    assert status["lastResult"] == "Succeeded" and status["failures"] == 0
    _, second_secret = active(world, "erin")
    assert base64.b64decode(secret(world, second_secret, "erin").data["password"]).decode() == rotated
    assert "strongroom.dev-pending-password" not in secret(world, second_secret, "erin").data
    assert "Rotated" in events_text(world)
    for password in (world.password, rotated):
        assert password not in operator.output()
        assert password not in events_text(world)
        assert password not in str(world.get("Account", world.account, namespace=world.vault))


def test_requested_at_rotates_now_and_only_once(operator: OperatorProcess, world: World) -> None:
    set_rotation(world, {"requestedAt": datetime.now(UTC).isoformat().replace("+00:00", "Z")})
    eventually(lambda: rotation_status(world).get("lastResult") == "Succeeded", what="rotated")
    once = vaulted(world)["password"]
    assert once != world.password
    first = rotation_status(world)["lastRotated"]
    time.sleep(3)
    assert vaulted(world)["password"] == once and rotation_status(world)["lastRotated"] == first
