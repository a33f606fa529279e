"""Rotation on a real PostgreSQL server and the local control plane: the password changes on the
server itself, survives a server outage and an operator killed at every step, never leaks."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from strongroom.rotation.protocol import STEPS
from strongroom.rotation.rotator import CRASH_AT
from strongroom.webhook.configurations import remove_configurations
from tests.conftest import Cluster, OperatorProcess, start_operator
from tests.operator.test_lifecycle import active, phase
from tests.postgres import PostgresServer
from tests.rotation.helpers import events_text, on_postgres, rotation_status, set_rotation, settled_password, vaulted
from tests.waiting import eventually
from tests.world import World


def new_password(world: World) -> str:
    return eventually(lambda: settled_password(world) not in (None, world.password) and settled_password(world),
                      timeout=20, what="a new password committed")


def test_after_release_the_old_password_no_longer_logs_in_and_the_new_one_does(
    operator: OperatorProcess, make_world, postgres: PostgresServer
) -> None:
    world: World = make_world(policy={"requiredApprovals": 0, "exclusiveCheckout": True})
    role = on_postgres(world, postgres, {"onRelease": True})
    assert postgres.can_login(role, world.password)
    name, _ = active(world, "alice")
    world.patch("alice", "AccessRequest", name, {"spec": {"release": True}})
    eventually(lambda: phase(world, name) == "Released", what="Released")
    rotated = new_password(world)
    assert postgres.can_login(role, rotated)
    assert not postgres.can_login(role, world.password)
    assert "postgresql provider" in rotation_status(world)["message"]
    for password in (world.password, rotated, postgres.password):
        assert password not in operator.output()
        assert password not in events_text(world)
        assert password not in str(world.get("Account", world.account, namespace=world.vault))


def test_scheduled_rotation_happens_on_time(operator: OperatorProcess, world: World, postgres: PostgresServer
                                            ) -> None:
    role = on_postgres(world, postgres, {"schedule": "8s"})
    first = new_password(world)  # the first is due 8 s after the Account was created
    first_at = datetime.fromisoformat(rotation_status(world)["lastRotated"].replace("Z", "+00:00"))
    scheduled = datetime.fromisoformat(rotation_status(world)["nextScheduled"].replace("Z", "+00:00"))
    assert (scheduled - first_at).total_seconds() == pytest.approx(8, abs=0.01)
    second = eventually(lambda: settled_password(world) not in (None, first) and settled_password(world),
                        timeout=20, what="the scheduled rotation")
    late = (datetime.now(UTC) - scheduled).total_seconds()
    assert -0.5 < late < 3, f"rotated {late:.1f}s from the schedule"
    assert postgres.can_login(role, second) and not postgres.can_login(role, first)


def test_a_rotation_with_the_server_stopped_keeps_the_old_password_and_succeeds_when_it_returns(
    operator: OperatorProcess, world: World, postgres: PostgresServer
) -> None:
    role = on_postgres(world, postgres, {})
    postgres.stop()
    try:
        set_rotation(world, {"requestedAt": datetime.now(UTC).isoformat().replace("+00:00", "Z")})
        eventually(lambda: rotation_status(world).get("lastResult") == "Failed", what="the failure reported")
        status = rotation_status(world)
        assert status["failures"] >= 1 and "still works" in status["message"]
        assert vaulted(world)["password"] == world.password
        assert "RotationFailed" in events_text(world)
    finally:
        postgres.start()
    assert postgres.can_login(role, world.password)
    rotated = new_password(world)
    assert postgres.can_login(role, rotated) and not postgres.can_login(role, world.password)
    assert rotation_status(world)["lastResult"] == "Succeeded" and rotation_status(world)["failures"] == 0


@pytest.mark.parametrize("step", STEPS)
def test_an_operator_killed_at_each_step_ends_consistent(
    step: str, cluster: Cluster, *, clients, make_world, postgres: PostgresServer, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch
) -> None:
    world: World = make_world()
    role = on_postgres(world, postgres, {})
    monkeypatch.setenv(CRASH_AT, step)
    doomed = start_operator(cluster, tmp_path / "doomed.log")
    try:
        set_rotation(world, {"requestedAt": datetime.now(UTC).isoformat().replace("+00:00", "Z")})
        eventually(lambda: doomed.process.poll() is not None, what=f"the operator killed after {step}")
    finally:
        doomed.stop()
    monkeypatch.delenv(CRASH_AT)
    restarted = start_operator(cluster, tmp_path / "restarted.log")
    try:
        password = eventually(lambda: rotation_status(world).get("lastResult") == "Succeeded"
                              and settled_password(world), timeout=20, what="consistent and rotated")
        assert password != world.password
        assert postgres.can_login(role, password) and not postgres.can_login(role, world.password)
        for log in (doomed.output(), restarted.output()):
            assert password not in log and world.password not in log
    finally:
        restarted.stop()
        remove_configurations(clients["admin"])  # no webhook left pointing at a stopped operator
