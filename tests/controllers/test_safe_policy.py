"""A Safe's policy as the operator applies it: membership, schedules, check-out, limits, changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.controllers.helpers import active, phase, reaches, secret, status
from tests.operators import InProcessOperator
from tests.waiting import eventually
from tests.world import World


def test_blocking_the_safe_revokes_every_active_grant_and_rejects_new_requests(
    operator: InProcessOperator, make_world
) -> None:
    world: World = make_world(policy={"requiredApprovals": 0})
    names = [active(world, user)[0] for user in ("alice", "erin")]
    world.update_safe(blocked=True, blockedReason="incident INC-9: credentials may be exposed")
    for name in names:
        reaches(world, name, "Revoked")
        assert secret(world, status(world, name)["secretName"], user="admin") is None
    refused = world.request("alice")["metadata"]["name"]
    assert reaches(world, refused, "Rejected")["rejectedReason"] == "SafeBlocked"


def test_removing_a_member_revokes_their_grant_only(operator: InProcessOperator, make_world) -> None:
    world: World = make_world(members=[{"users": ["alice"]}, {"users": ["erin"]}], policy={"requiredApprovals": 0})
    alice, _ = active(world, "alice")
    erin, _ = active(world, "erin")
    world.update_safe(members=[{"users": ["erin"]}])
    reaches(world, alice, "Revoked")
    operator.settle()
    assert phase(world, erin) == "Active"


def test_a_membership_that_ends_cuts_the_grant_to_its_end(operator: InProcessOperator, make_world) -> None:
    until = (datetime.now(UTC) + timedelta(minutes=20)).replace(microsecond=0)
    world: World = make_world(members=[{"users": ["alice"], "validUntil": until.isoformat().replace("+00:00", "Z")}],
                              policy={"requiredApprovals": 0})
    name, secret_name = active(world, "alice", "1h")
    assert status(world, name)["notAfter"] == until.isoformat().replace("+00:00", "Z")
    operator.advance(timedelta(minutes=20))
    eventually(lambda: secret(world, secret_name, user="admin") is None, what="withdrawn at the membership's end")


def test_exclusive_checkout_refuses_a_second_holder_until_the_first_releases(
    operator: InProcessOperator, make_world
) -> None:
    world: World = make_world(policy={"requiredApprovals": 0, "exclusiveCheckout": True})
    first, _ = active(world, "alice")
    eventually(lambda: (world.get("Account", world.account, namespace=world.vault).get("status") or {}).get(
        "activeHolder") == "alice", what="alice shown as the holder")
    second = world.request("erin", duration="30m")["metadata"]["name"]
    assert reaches(world, second, "Rejected")["rejectedReason"] == "AccountCheckedOut"
    world.patch("alice", "AccessRequest", first, {"spec": {"release": True}})
    reaches(world, first, "Released")
    active(world, "erin")


def test_max_active_grants_per_user(operator: InProcessOperator, make_world) -> None:
    world: World = make_world(policy={"requiredApprovals": 0, "maxActiveGrantsPerUser": 1})
    active(world, "alice")
    second = world.request("alice", duration="30m")["metadata"]["name"]
    assert reaches(world, second, "Rejected")["rejectedReason"] == "TooManyActiveGrants"


def test_a_request_outside_the_members_schedule_is_rejected(operator: InProcessOperator, make_world) -> None:
    now = datetime.now(UTC)
    closed = {"days": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
              "from": f"{(now.hour + 2) % 24:02d}:00", "to": f"{(now.hour + 3) % 24:02d}:00"}
    world: World = make_world(
        members=[{"groups": ["dev"], "schedule": "night-shift"}],
        schedules=[{"name": "night-shift", "timeZone": "UTC", "windows": [closed]}],
        policy={"requiredApprovals": 0},
    )
    name = world.request("alice")["metadata"]["name"]
    assert reaches(world, name, "Rejected")["rejectedReason"] == "OutsideSchedule"


def test_a_grant_never_runs_past_the_end_of_the_schedule_window_it_started_in(
    operator: InProcessOperator, make_world
) -> None:
    now = datetime.now(UTC)
    end = (now + timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
    open_now = {"days": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
                "from": f"{now.hour:02d}:00", "to": f"{end.hour:02d}:00"}
    world: World = make_world(members=[{"groups": ["dev"], "schedule": "day"}],
                              schedules=[{"name": "day", "timeZone": "UTC", "windows": [open_now]}],
                              policy={"requiredApprovals": 0})
    name, secret_name = active(world, "alice", "8h")
    assert status(world, name)["notAfter"] == end.isoformat().replace("+00:00", "Z")
    operator.advance(end - now)
    eventually(lambda: secret(world, secret_name, user="admin") is None, what="withdrawn when the window closes")
    reaches(world, name, "Expired")


def test_a_safe_that_cannot_be_evaluated_is_not_ready_and_its_requests_are_rejected(
    operator: InProcessOperator, make_world
) -> None:
    world: World = make_world(policy={"requiredApprovals": 0, "defaultDuration": "2h", "maxDuration": "1h"})

    def ready() -> dict:
        conditions = (world.get("Safe", world.safe, namespace=world.vault).get("status") or {}).get("conditions", [])
        return next((c for c in conditions if c["type"] == "Ready"), {})

    eventually(lambda: ready().get("reason") == "InvalidPolicy", what="Safe not Ready")
    assert ready()["status"] == "False" and "maxDuration" in ready()["message"]
    name = world.request("alice")["metadata"]["name"]
    assert reaches(world, name, "Rejected")["rejectedReason"] == "InvalidPolicy"
