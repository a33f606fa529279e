"""A delivered credential reaches only its holder: a co-tenant of the namespace cannot read it, and the
operator never adopts, changes or deletes an object that merely has the name it wanted."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from tests.controllers.helpers import active, reaches, secret
from tests.operators import InProcessOperator
from tests.waiting import eventually
from tests.world import World


def read_as(world: World, user: str, name: str) -> int:
    """The HTTP answer `user` gets reading Secret `name` in the team namespace."""
    try:
        world.core(user).read_namespaced_secret(name, world.team)
    except ApiException as exc:
        return int(exc.status)
    return 200


def access_bindings(world: World) -> list[client.V1RoleBinding]:
    return client.RbacAuthorizationV1Api(world.clients["admin"]).list_namespaced_role_binding(
        world.team, label_selector="app.kubernetes.io/managed-by=strongroom").items


def test_a_co_member_cannot_read_the_delivered_secret_and_after_the_window_nobody_can(
    operator: InProcessOperator, make_world
) -> None:
    world: World = make_world(policy={"requiredApprovals": 0})
    name, secret_name = active(world, "alice", "30m")
    assert read_as(world, "alice", secret_name) == 200
    assert read_as(world, "erin", secret_name) == 403, "erin is in group dev too, bound to the requester role"
    (bound,) = access_bindings(world)
    assert [(s.kind, s.name) for s in bound.subjects] == [("User", "alice")]
    operator.advance(timedelta(minutes=30))
    reaches(world, name, "Expired")
    assert read_as(world, "alice", secret_name) in (403, 404)
    assert read_as(world, "admin", secret_name) == 404
    eventually(lambda: not access_bindings(world), what="the RoleBinding goes with the Secret")
    assert read_as(world, "alice", secret_name) == 403, "no right left, not even to learn it is gone"


def test_the_requester_role_grants_no_secret_rights(world: World) -> None:
    for user in ("alice", "erin"):
        assert read_as(world, user, "db-admin-anything") == 403
        with pytest.raises(ApiException) as refused:
            world.core(user).list_namespaced_secret(world.team)
        assert refused.value.status == 403


def test_a_request_naming_an_existing_secret_never_touches_it(operator: InProcessOperator, make_world) -> None:
    world: World = make_world(policy={"requiredApprovals": 0})
    ci = world.core("admin").create_namespaced_secret(world.team, {
        "metadata": {"name": "ci-token"}, "stringData": {"token": "ci-secret-value"}})
    name = world.request("alice", duration="30m", secretName="ci-token")["metadata"]["name"]
    rejected = reaches(world, name, "Rejected")
    assert rejected["rejectedReason"] == "SecretNameTaken"
    assert "ci-token" in rejected["history"][-1]["message"]
    operator.advance(timedelta(hours=1))
    operator.settle()
    kept = world.core("admin").read_namespaced_secret("ci-token", world.team)
    assert kept.metadata.uid == ci.metadata.uid and kept.metadata.resource_version == ci.metadata.resource_version
    assert base64.b64decode(kept.data["token"]) == b"ci-secret-value"
    assert not access_bindings(world)


def test_a_request_named_like_an_existing_grant_never_touches_it(operator: InProcessOperator, make_world) -> None:
    world: World = make_world(policy={"requiredApprovals": 0, "allowStandingGrants": True})
    now = datetime.now(UTC)
    stamp = lambda t: t.isoformat().replace("+00:00", "Z")  # noqa: E731
    world.create("admin", "Grant", {
        "account": {"namespace": world.vault, "name": world.account}, "subject": {"user": "erin"},
        "notBefore": stamp(now), "notAfter": stamp(now + timedelta(hours=1)), "secretName": "erin-db",
        "source": {"direct": True}}, name="shared-name")
    reaches(world, "shared-name", "Active", kind="Grant")
    name = world.request("alice", duration="30m", name="shared-name")["metadata"]["name"]
    assert reaches(world, name, "Rejected")["rejectedReason"] == "GrantNameTaken"
    world.patch("alice", "AccessRequest", name, {"spec": {"release": True}})
    operator.settle()
    kept = world.get("Grant", "shared-name")
    assert kept["spec"]["source"] == {"direct": True} and kept["status"]["phase"] == "Active"
    assert secret(world, "erin-db", user="erin") is not None, "erin's access is untouched"
