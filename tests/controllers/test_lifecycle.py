"""Request to Secret and back, on the real API server, as the real users; time moved by the test."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

from tests.controllers.helpers import active, events, phase, reaches, secret, status, when
from tests.operators import InProcessOperator
from tests.waiting import eventually
from tests.world import World


def test_an_auto_approved_request_delivers_a_secret_for_its_window_then_deletes_it(
    operator: InProcessOperator, make_world
) -> None:
    world: World = make_world(policy={"requiredApprovals": 0})
    name, secret_name = active(world, "alice", "30m")
    delivered = eventually(lambda: secret(world, secret_name), what="secret readable by alice")
    assert delivered.type == "kubernetes.io/basic-auth"
    assert base64.b64decode(delivered.data["password"]).decode() == world.password
    assert base64.b64decode(delivered.data["username"]).decode() == "postgres"
    assert delivered.metadata.labels["strongroom.dev/account"] == world.account
    operator.advance(timedelta(minutes=29))
    operator.settle()
    assert secret(world, secret_name) is not None, "still inside the window"
    operator.advance(timedelta(minutes=1))
    eventually(lambda: secret(world, secret_name, user="admin") is None, what="deleted at notAfter")
    reaches(world, name, "Expired")
    assert events(world, name) == ["Submitted", "Approved", "Expired"]
    assert world.password not in operator.output()


def test_two_of_three_approvals_deliver_only_after_the_second_distinct_approver(
    operator: InProcessOperator, make_world
) -> None:
    world: World = make_world(approvers={"users": ["bob", "carol", "erin"]}, policy={"requiredApprovals": 2})
    name = world.request("alice", duration="10m")["metadata"]["name"]
    world.review("bob", name)
    eventually(lambda: status(world, name).get("approvalsReceived") == 1, what="one approval counted")
    operator.settle()
    assert status(world, name)["phase"] == "Pending" and "grant" not in status(world, name)
    world.review("carol", name, comment="ok for INC-1234")
    secret_name = reaches(world, name, "Active")["secretName"]
    assert secret(world, secret_name) is not None
    assert status(world, name)["approvalsReceived"] == 2


def test_one_deny_ends_the_request(operator: InProcessOperator, make_world) -> None:
    world: World = make_world(approvers={"users": ["bob", "carol"]}, policy={"requiredApprovals": 2})
    name = world.request("alice")["metadata"]["name"]
    world.review("bob", name)
    world.review("carol", name, decision="Deny", comment="not during the freeze")
    reaches(world, name, "Denied")
    operator.settle()
    assert "grant" not in status(world, name)


def test_a_request_nobody_reviews_times_out_at_its_approval_timeout(operator: InProcessOperator, make_world) -> None:
    world: World = make_world(policy={"approvalTimeout": "2h"})
    name = world.request("alice")["metadata"]["name"]
    operator.advance(timedelta(hours=1, minutes=59))
    operator.settle()
    assert phase(world, name) == "Pending"
    operator.advance(timedelta(minutes=1))
    reaches(world, name, "TimedOut")


def test_an_approver_narrows_the_window(operator: InProcessOperator, world: World) -> None:
    name = world.request("alice", duration="2h")["metadata"]["name"]
    until = (datetime.now(UTC) + timedelta(minutes=10)).replace(microsecond=0)
    world.review("bob", name, notAfter=until.isoformat().replace("+00:00", "Z"))
    assert when(reaches(world, name, "Active")["notAfter"]) == until


def test_a_scheduled_window_is_approved_then_activates_at_its_start(operator: InProcessOperator, make_world) -> None:
    world: World = make_world(policy={"requiredApprovals": 0, "allowScheduled": True, "maxScheduleAhead": "2h"})
    start = (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0)
    stamp = lambda t: t.isoformat().replace("+00:00", "Z")  # noqa: E731
    name = world.request("alice", window={"start": stamp(start), "end": stamp(start + timedelta(minutes=30))}
                         )["metadata"]["name"]
    secret_name = reaches(world, name, "Approved")["secretName"]
    grant = world.get("Grant", status(world, name)["grant"])
    assert grant["status"]["phase"] == "Scheduled", "a Grant has a status from the moment it exists"
    operator.advance(timedelta(minutes=59))
    operator.settle()
    assert secret(world, secret_name) is None
    operator.advance(timedelta(minutes=1))
    reaches(world, name, "Active")
    assert secret(world, secret_name) is not None


def test_release_by_the_requester_ends_access_at_once_and_names_who_released(
    operator: InProcessOperator, make_world
) -> None:
    world: World = make_world(policy={"requiredApprovals": 0})
    name, secret_name = active(world, "alice", "30m")
    world.patch("alice", "AccessRequest", name, {"spec": {"release": True}})
    eventually(lambda: secret(world, secret_name, user="admin") is None, what="deleted on release")
    released = reaches(world, name, "Released")
    entry = released["history"][-1]
    assert entry["event"] == "Released" and entry["actor"] == "alice"
    assert world.get("AccessRequest", name)["spec"]["releasedBy"] == "alice"


def test_deleting_the_grant_revokes_at_once(operator: InProcessOperator, make_world) -> None:
    world: World = make_world(policy={"requiredApprovals": 0})
    name, secret_name = active(world, "alice", "30m")
    world.objects("admin").delete_namespaced_custom_object("strongroom.dev", "v1alpha1", world.team, "grants",
                                                           status(world, name)["grant"])
    eventually(lambda: secret(world, secret_name, user="admin") is None, what="deleted with the Grant")
    reaches(world, name, "Revoked")


def test_blocking_the_safe_revokes_every_live_grant(operator: InProcessOperator, make_world) -> None:
    world: World = make_world(policy={"requiredApprovals": 0})
    name, secret_name = active(world, "alice", "30m")
    world.update_safe(blocked=True, blockedReason="incident 42")
    eventually(lambda: secret(world, secret_name, user="admin") is None, what="withdrawn")
    reaches(world, name, "Revoked")
    assert world.get("Grant", status(world, name)["grant"])["status"]["endedReason"] == "SafeBlocked"


def test_a_finished_request_is_deleted_when_its_retention_has_passed(in_process, make_world) -> None:
    operator: InProcessOperator = in_process(retention=timedelta(days=7))
    world: World = make_world(members=[{"users": ["erin"]}])
    name = world.request("alice")["metadata"]["name"]
    reaches(world, name, "Rejected")
    operator.advance(timedelta(days=6, hours=23))
    operator.settle()
    assert world.get("AccessRequest", name)
    operator.advance(timedelta(hours=1))

    def names() -> list[str]:
        listed = world.objects("admin").list_namespaced_custom_object("strongroom.dev", "v1alpha1", world.team,
                                                                      "accessrequests")
        return [r["metadata"]["name"] for r in listed["items"]]

    eventually(lambda: name not in names(), what="deleted after the retention")
