"""Request to Secret and back, on the real API server, as the real users."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from tests.conftest import OperatorProcess
from tests.waiting import eventually
from tests.world import World


def phase(world: World, name: str) -> str:
    return (world.get("AccessRequest", name).get("status") or {}).get("phase", "")


def secret(world: World, name: str, user: str = "alice") -> client.V1Secret | None:
    try:
        return world.core(user).read_namespaced_secret(name, world.team)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise


def test_an_auto_approved_request_delivers_a_secret_for_its_window_then_deletes_it(
    operator: OperatorProcess, make_world
) -> None:
    world: World = make_world(policy={"requiredApprovals": 0})
    name = world.request("alice", duration="4s")["metadata"]["name"]
    eventually(lambda: phase(world, name) == "Active", timeout=20, what="Active")
    status = world.get("AccessRequest", name)["status"]
    delivered = eventually(lambda: secret(world, status["secretName"]), what="secret readable by alice")
    assert delivered.type == "kubernetes.io/basic-auth"
    assert base64.b64decode(delivered.data["password"]).decode() == world.password
    assert base64.b64decode(delivered.data["username"]).decode() == "postgres"
    assert delivered.metadata.labels["strongroom.dev/account"] == world.account
    not_after = datetime.fromisoformat(status["notAfter"].replace("Z", "+00:00"))
    eventually(lambda: secret(world, status["secretName"]) is None, timeout=15, interval=0.05, what="deleted")
    late = (datetime.now(UTC) - not_after).total_seconds()
    assert -0.5 < late < 1.5, f"deleted {late:.2f}s from notAfter"
    eventually(lambda: phase(world, name) == "Expired", timeout=10, what="Expired")
    history = [h["event"] for h in world.get("AccessRequest", name)["status"]["history"]]
    assert history[0] == "Submitted" and "Approved" in history and history[-1] == "Expired"
    assert world.password not in operator.output()


def status(world: World, name: str) -> dict:
    return world.get("AccessRequest", name).get("status") or {}


def active(world: World, user: str = "alice", duration: str = "30m") -> tuple[str, str]:
    """File a request as `user` and wait until it is Active: (request name, delivered Secret name)."""
    name = world.request(user, duration=duration)["metadata"]["name"]
    eventually(lambda: phase(world, name) == "Active", what="Active")
    return name, status(world, name)["secretName"]


def test_two_of_three_approvals_deliver_only_after_the_second_distinct_approver(
    operator: OperatorProcess, make_world
) -> None:
    world: World = make_world(approvers={"users": ["bob", "carol", "erin"]}, policy={"requiredApprovals": 2})
    name = world.request("alice", duration="10m")["metadata"]["name"]
    world.review("bob", name)
    eventually(lambda: status(world, name).get("approvalsReceived") == 1, what="one approval counted")
    assert status(world, name)["phase"] == "Pending"
    assert world.get("AccessRequest", name).get("status", {}).get("grant") is None
    world.review("carol", name, comment="ok for INC-1234")
    eventually(lambda: phase(world, name) == "Active", timeout=15, what="Active")
    assert secret(world, status(world, name)["secretName"]) is not None


def test_one_deny_ends_the_request(operator: OperatorProcess, make_world) -> None:
    world: World = make_world(approvers={"users": ["bob", "carol"]}, policy={"requiredApprovals": 2})
    name = world.request("alice")["metadata"]["name"]
    world.review("bob", name)
    world.review("carol", name, decision="Deny", comment="not during the freeze")
    eventually(lambda: phase(world, name) == "Denied", what="Denied")
    assert "grant" not in status(world, name)


def test_a_request_nobody_reviews_times_out(operator: OperatorProcess, make_world) -> None:
    world: World = make_world(policy={"approvalTimeout": "3s"})
    name = world.request("alice")["metadata"]["name"]
    eventually(lambda: phase(world, name) == "TimedOut", timeout=20, what="TimedOut")


def test_an_approver_narrows_the_window(operator: OperatorProcess, world: World) -> None:
    name = world.request("alice", duration="2h")["metadata"]["name"]
    until = datetime.fromtimestamp(time.time() + 600, UTC).replace(microsecond=0)
    world.review("bob", name, notAfter=until.isoformat().replace("+00:00", "Z"))
    eventually(lambda: phase(world, name) == "Active", what="Active")
    assert status(world, name)["notAfter"] == until.isoformat().replace("+00:00", "Z")


def test_a_scheduled_window_activates_on_time(operator: OperatorProcess, make_world) -> None:
    world: World = make_world(policy={"requiredApprovals": 0, "allowScheduled": True, "maxScheduleAhead": "1h"})
    start = datetime.fromtimestamp(int(time.time()) + 4, UTC)
    end = datetime.fromtimestamp(int(time.time()) + 120, UTC)
    stamp = lambda t: t.isoformat().replace("+00:00", "Z")  # noqa: E731
    name = world.request("alice", window={"start": stamp(start), "end": stamp(end)})["metadata"]["name"]
    eventually(lambda: phase(world, name) == "Approved", what="Approved")
    secret_name = status(world, name)["secretName"]
    assert secret(world, secret_name) is None
    eventually(lambda: secret(world, secret_name) is not None, timeout=15, interval=0.05, what="written")
    early = (datetime.now(UTC) - start).total_seconds()
    assert -0.5 < early < 1.5, f"written {early:.2f}s from notBefore"


def test_release_by_the_requester_ends_access_at_once(operator: OperatorProcess, make_world) -> None:
    world: World = make_world(policy={"requiredApprovals": 0})
    name, secret_name = active(world, "alice", "30m")
    world.patch("alice", "AccessRequest", name, {"spec": {"release": True}})
    released = time.monotonic()
    eventually(lambda: secret(world, secret_name) is None, timeout=5, interval=0.05, what="deleted")
    assert time.monotonic() - released < 1.5
    eventually(lambda: phase(world, name) == "Released", what="Released")


def test_an_admin_revokes_by_deleting_the_grant(operator: OperatorProcess, make_world) -> None:
    world: World = make_world(policy={"requiredApprovals": 0})
    name, secret_name = active(world, "alice", "30m")
    world.objects("admin").delete_namespaced_custom_object(
        "strongroom.dev", "v1alpha1", world.team, "grants", status(world, name)["grant"])
    eventually(lambda: secret(world, secret_name) is None, timeout=5, interval=0.05, what="deleted")
    eventually(lambda: phase(world, name) == "Revoked", what="Revoked")


def test_blocking_the_safe_revokes_every_active_grant(operator: OperatorProcess, make_world) -> None:
    world: World = make_world(policy={"requiredApprovals": 0})
    names = [world.request(user, duration="30m")["metadata"]["name"] for user in ("alice", "erin")]
    for name in names:
        eventually(lambda n=name: phase(world, n) == "Active", what="Active")
    world.update_safe(blocked=True, blockedReason="incident INC-9: credentials may be exposed")
    for name in names:
        eventually(lambda n=name: phase(world, n) == "Revoked", timeout=10, what="Revoked")
        assert secret(world, status(world, name)["secretName"], user="admin") is None
    refused = world.request("alice")["metadata"]["name"]
    eventually(lambda: phase(world, refused) == "Rejected", what="Rejected")
    assert status(world, refused)["rejectedReason"] == "SafeBlocked"


def test_removing_a_member_revokes_their_grant_only(operator: OperatorProcess, make_world) -> None:
    world: World = make_world(members=[{"users": ["alice"]}, {"users": ["erin"]}], policy={"requiredApprovals": 0})
    alice = world.request("alice", duration="30m")["metadata"]["name"]
    erin = world.request("erin", duration="30m")["metadata"]["name"]
    for name in (alice, erin):
        eventually(lambda n=name: phase(world, n) == "Active", what="Active")
    world.update_safe(members=[{"users": ["erin"]}])
    eventually(lambda: phase(world, alice) == "Revoked", timeout=10, what="Revoked")
    assert phase(world, erin) == "Active"


def test_exclusive_checkout_refuses_a_second_holder_until_the_first_releases(
    operator: OperatorProcess, make_world
) -> None:
    world: World = make_world(policy={"requiredApprovals": 0, "exclusiveCheckout": True})
    first = world.request("alice", duration="30m")["metadata"]["name"]
    eventually(lambda: phase(world, first) == "Active", what="Active")
    eventually(lambda: (world.get("Account", world.account, namespace=world.vault).get("status") or {}).get(
        "activeHolder") == "alice", what="alice shown as the holder")
    second = world.request("erin", duration="30m")["metadata"]["name"]
    eventually(lambda: phase(world, second) == "Rejected", what="Rejected")
    assert status(world, second)["rejectedReason"] == "AccountCheckedOut"
    world.patch("alice", "AccessRequest", first, {"spec": {"release": True}})
    eventually(lambda: phase(world, first) == "Released", what="Released")
    third = world.request("erin", duration="30m")["metadata"]["name"]
    eventually(lambda: phase(world, third) == "Active", what="Active")


def test_max_active_grants_per_user(operator: OperatorProcess, make_world) -> None:
    world: World = make_world(policy={"requiredApprovals": 0, "maxActiveGrantsPerUser": 1})
    first = world.request("alice", duration="30m")["metadata"]["name"]
    eventually(lambda: phase(world, first) == "Active", what="Active")
    second = world.request("alice", duration="30m")["metadata"]["name"]
    eventually(lambda: phase(world, second) == "Rejected", what="Rejected")
    assert status(world, second)["rejectedReason"] == "TooManyActiveGrants"


def test_a_request_outside_the_members_schedule_is_rejected(operator: OperatorProcess, make_world) -> None:
    now = datetime.now(UTC)
    closed = {"days": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
              "from": f"{(now.hour + 2) % 24:02d}:00", "to": f"{(now.hour + 3) % 24:02d}:00"}
    world: World = make_world(
        members=[{"groups": ["dev"], "schedule": "night-shift"}],
        schedules=[{"name": "night-shift", "timeZone": "UTC", "windows": [closed]}],
        policy={"requiredApprovals": 0},
    )
    name = world.request("alice")["metadata"]["name"]
    eventually(lambda: phase(world, name) == "Rejected", what="Rejected")
    assert status(world, name)["rejectedReason"] == "OutsideSchedule"


def test_a_direct_grant_by_an_admin_delivers_for_its_window_and_the_auditor_cannot_read_it(
    operator: OperatorProcess, world: World
) -> None:
    start = datetime.fromtimestamp(int(time.time()) + 1, UTC)
    end = datetime.fromtimestamp(int(time.time()) + 5, UTC)
    stamp = lambda t: t.isoformat().replace("+00:00", "Z")  # noqa: E731
    world.create("admin", "Grant", {
        "account": {"namespace": world.vault, "name": world.account}, "subject": {"user": "alice", "groups": ["dev"]},
        "notBefore": stamp(start), "notAfter": stamp(end), "secretName": "standing-db", "source": {"direct": True},
    }, name="standing")
    delivered = eventually(lambda: secret(world, "standing-db"), timeout=10, what="written")
    assert delivered.metadata.annotations["strongroom.dev/expires-at"] == stamp(end)
    assert base64.b64decode(delivered.data["sslmode"]) == b"require"  # the Account's fields travel along
    assert delivered.metadata.owner_references[0].kind == "Grant"
    try:
        world.core("audrey").read_namespaced_secret("standing-db", world.team)
        raise AssertionError("the auditor read a delivered Secret")
    except ApiException as exc:
        assert exc.status == 403
    eventually(lambda: secret(world, "standing-db") is None, timeout=10, what="deleted")
    eventually(lambda: world.get("Grant", "standing")["status"]["phase"] == "Expired", what="Expired")
