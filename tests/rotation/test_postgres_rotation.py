"""Rotation on a real PostgreSQL server and the local control plane, time moved by the test: the
password changes on the server itself, on time, survives a server outage (backing off meanwhile), never
changes under a holder inside her window, and never leaks."""

from __future__ import annotations

from datetime import timedelta

import pytest

from strongroom.api.common import format_time
from strongroom.rotation.protocol import MAX_BACKOFF, PENDING_KEY
from tests.controllers.helpers import active, reaches, secret, when
from tests.operators import InProcessOperator
from tests.postgres import PostgresServer
from tests.rotation.helpers import (
    MANAGEMENT_SECRET,
    assert_nowhere,
    delivered,
    events_of,
    last_rotated,
    on_postgres,
    release,
    request_rotation,
    rotated_from,
    rotation_status,
    settled_password,
    vaulted,
)
from tests.waiting import eventually
from tests.world import World

NOW = timedelta(0)  # settle(horizon=NOW): nothing due now; deadlines a moment away (a backoff) are not waited for


def test_after_release_the_old_password_no_longer_logs_in_and_the_new_one_does(
    operator: InProcessOperator, make_world, postgres: PostgresServer
) -> None:
    world: World = make_world(policy={"requiredApprovals": 0, "exclusiveCheckout": True})
    role = on_postgres(world, postgres, {"onRelease": True})
    assert postgres.can_login(role, world.password)
    name, _ = active(world, "alice")
    release(world, "alice", name)
    rotated = rotated_from(world, world.password)
    assert postgres.can_login(role, rotated)
    assert not postgres.can_login(role, world.password)
    assert "postgresql provider" in rotation_status(world)["message"]
    assert_nowhere(world, [world.password, rotated, postgres.password], operator.output())


def test_a_holder_keeps_logging_in_after_another_releases_until_her_own_window_ends(
    operator: InProcessOperator, make_world, postgres: PostgresServer
) -> None:
    world: World = make_world(policy={"requiredApprovals": 0})
    role = on_postgres(world, postgres, {"onRelease": True})
    first, _ = active(world, "alice", "30m")
    _, erins = active(world, "erin", "1h")
    held = delivered(world, erins, "erin")
    login = held[1]["username"], held[1]["password"]
    assert login == (role, world.password)
    release(world, "alice", first)
    operator.settle()
    assert postgres.can_login(*login), "erin's credential stopped working when alice released"
    assert vaulted(world)["password"] == world.password and PENDING_KEY not in vaulted(world)
    assert delivered(world, erins, "erin") == held
    operator.advance(timedelta(minutes=59))
    operator.settle()
    assert postgres.can_login(*login) and settled_password(world) == world.password
    operator.advance(timedelta(minutes=1))
    rotated = rotated_from(world, world.password)
    assert secret(world, erins, "admin") is None
    assert postgres.can_login(role, rotated) and not postgres.can_login(*login)
    assert_nowhere(world, [world.password, rotated, postgres.password], operator.output())


def test_scheduled_rotation_happens_on_time(operator: InProcessOperator, world: World, postgres: PostgresServer
                                            ) -> None:
    role = on_postgres(world, postgres, {"schedule": "24h"})
    created = when(world.get("Account", world.account, namespace=world.vault)["metadata"]["creationTimestamp"])
    due = created + timedelta(hours=24)
    operator.advance(due - operator.clock.now() - timedelta(minutes=1))
    operator.settle()
    assert settled_password(world) == world.password, "rotated before the schedule"
    operator.advance(timedelta(minutes=1))
    passed = operator.clock.now()
    first = rotated_from(world, world.password)
    first_at = last_rotated(world)
    assert first_at is not None and due <= first_at < passed + timedelta(seconds=2), "not at once when due"
    scheduled = when(rotation_status(world)["nextScheduled"])
    assert scheduled == first_at + timedelta(hours=24)
    operator.advance(scheduled - operator.clock.now() - timedelta(minutes=1))
    operator.settle()
    assert settled_password(world) == first, "rotated before the schedule"
    operator.advance(timedelta(minutes=1))
    passed = operator.clock.now()
    second = rotated_from(world, first)
    second_at = last_rotated(world)
    assert second_at is not None and scheduled <= second_at < passed + timedelta(seconds=2), "not at once when due"
    assert postgres.can_login(role, second) and not postgres.can_login(role, first)


@pytest.mark.parametrize("asked", ["requested", "scheduled"])
def test_a_rotation_with_the_server_stopped_backs_off_keeps_the_old_password_and_succeeds_when_it_returns(
    asked: str, operator: InProcessOperator, world: World, postgres: PostgresServer
) -> None:
    role = on_postgres(world, postgres, {"schedule": "1h"} if asked == "scheduled" else {})
    postgres.stop()
    try:
        if asked == "scheduled":
            operator.advance(timedelta(hours=1))
        else:
            request_rotation(world, operator.clock.now())
        eventually(lambda: rotation_status(world).get("failures") == 1, what="the failure reported")
        failed = rotation_status(world)
        assert failed["lastResult"] == "Failed" and "still works" in failed["message"]
        first_attempt = when(failed["lastAttempt"])
        assert f"retrying at {format_time(first_attempt + timedelta(seconds=2))}" in failed["message"]
        assert vaulted(world)["password"] == world.password
        eventually(lambda: events_of(world, "RotationFailed"), what="a RotationFailed Event")
        operator.advance(timedelta(seconds=2))  # the first backoff: 2 s
        eventually(lambda: rotation_status(world).get("failures") == 2, what="retried after the backoff")
        operator.advance(timedelta(seconds=2))  # half the second backoff (4 s): nothing is tried meanwhile
        operator.settle(horizon=NOW)
        again = rotation_status(world)
        assert again["failures"] == 2 and when(again["lastAttempt"]) - first_attempt >= timedelta(seconds=2)
        assert vaulted(world)["password"] == world.password
    finally:
        postgres.start()
    assert postgres.can_login(role, world.password), "the stored password stopped working"
    operator.advance(MAX_BACKOFF)
    rotated = rotated_from(world, world.password)
    assert postgres.can_login(role, rotated) and not postgres.can_login(role, world.password)
    assert rotation_status(world)["lastResult"] == "Succeeded" and rotation_status(world)["failures"] == 0
    assert_nowhere(world, [world.password, rotated, postgres.password], operator.output())


def test_a_rotation_the_server_refuses_is_rolled_back_and_tried_again_only_after_the_backoff(
    operator: InProcessOperator, world: World, postgres: PostgresServer
) -> None:
    role = on_postgres(world, postgres, {"schedule": "1h"})
    management = {"stringData": {"password": "not-the-management-password"}}
    world.core("admin").patch_namespaced_secret(MANAGEMENT_SECRET, world.vault, management)
    operator.advance(timedelta(hours=1))
    eventually(lambda: rotation_status(world).get("failures") == 1, what="the refusal reported")
    operator.settle(horizon=NOW)  # fails if the operator keeps looking at the Account until the backoff ends
    assert rotation_status(world)["failures"] == 1
    assert "password authentication failed" in rotation_status(world)["message"]
    assert PENDING_KEY not in vaulted(world), "the target still takes the old password: pending is dropped"
    assert vaulted(world)["password"] == world.password and postgres.can_login(role, world.password)
    world.core("admin").patch_namespaced_secret(MANAGEMENT_SECRET, world.vault,
                                                {"stringData": {"password": postgres.password}})
    operator.advance(timedelta(seconds=2))
    rotated = rotated_from(world, world.password)
    assert postgres.can_login(role, rotated) and not postgres.can_login(role, world.password)


def grant_of(world: World, request: str) -> dict | None:
    """The Grant issued for `request`, found by its label (a request whose delivery is held has no status)."""
    listed = world.objects("admin").list_namespaced_custom_object(
        "strongroom.dev", "v1alpha1", world.team, "grants", label_selector=f"strongroom.dev/access-request={request}")
    return listed["items"][0] if listed["items"] else None


def test_the_next_holder_of_an_exclusive_account_waits_for_the_fresh_password_while_the_server_is_down(
    operator: InProcessOperator, make_world, postgres: PostgresServer
) -> None:
    world: World = make_world(policy={"requiredApprovals": 0, "exclusiveCheckout": True})
    role = on_postgres(world, postgres, {"onRelease": True})
    first, _ = active(world, "alice", "30m")
    postgres.stop()
    try:
        release(world, "alice", first)
        eventually(lambda: rotation_status(world).get("lastResult") == "Failed", what="the failure reported")
        second = world.request("erin", wait=False, duration="30m")["metadata"]["name"]
        grant = eventually(lambda: grant_of(world, second), what="erin's Grant issued")
        operator.settle(horizon=NOW)
        assert secret(world, grant["spec"]["secretName"], "admin") is None, "erin got the password alice saw"
        assert (world.get("Grant", grant["metadata"]["name"]).get("status") or {}).get("phase") != "Active"
    finally:
        postgres.start()
    operator.advance(MAX_BACKOFF)
    rotated = rotated_from(world, world.password)
    secret_name = reaches(world, second, "Active")["secretName"]
    _, handed = delivered(world, secret_name, "erin")
    assert handed["password"] == rotated and postgres.can_login(role, rotated)
    assert not postgres.can_login(role, world.password)
