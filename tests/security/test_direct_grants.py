"""Direct Grants need authority over the Safe (the `grant` verb on it), not over a namespace, and obey
the Safe's limits; a Grant with a broken seal is revoked without holding up anyone else's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from strongroom.codegen import rbac
from strongroom.devcluster.sample import binding
from strongroom.kube import authz
from strongroom.kube.client import apply
from strongroom.kube.rest import Kube
from tests.controllers.helpers import active, reaches, secret, status
from tests.operators import InProcessOperator
from tests.security.helpers import bypassed
from tests.waiting import eventually
from tests.world import World


def stamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def grant_spec(world: World, user: str, length: timedelta, secret_name: str) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {"account": {"namespace": world.vault, "name": world.account}, "subject": {"user": user},
            "notBefore": stamp(now), "notAfter": stamp(now + length), "secretName": secret_name,
            "source": {"direct": True}}


def grantor(world: World, user: str) -> None:
    """`user` may issue Grants of the world's Safe (in the vault) and create them in the team namespace."""
    apply(world.clients["admin"], [binding(ns, f"grantor-{user}", rbac.GRANTOR_ROLE, [("User", user)])
                                   for ns in (world.vault, world.team)])
    may_create_grants(world, user)


def may_create_grants(world: World, user: str) -> None:
    """Wait until the API server's authorizer lets `user` create Grants in the team namespace."""
    kube = Kube(world.clients["admin"])
    eventually(lambda: authz.may(kube, user, [], verb="create", resource="grants", namespace=world.team,
                                 group="strongroom.dev"), what=f"{user}'s RoleBinding in effect")


def test_a_namespace_admin_is_not_a_strongroom_admin(operator: InProcessOperator, world: World) -> None:
    apply(world.clients["admin"], [binding(world.team, "dave-admin", "admin", [("User", "dave")])])
    objects = world.objects("dave")
    eventually(lambda: objects.list_namespaced_custom_object("strongroom.dev", "v1alpha1", world.team, "grants"),
               what="the built-in admin role lets dave read Strongroom's objects (view is aggregated)")
    with pytest.raises(ApiException) as refused:
        world.create("dave", "Grant", grant_spec(world, "dave", timedelta(hours=1), "dave-db"))
    assert refused.value.status == 403
    with pytest.raises(ApiException) as refused_patch:
        world.patch_status("dave", "AccessRequest", "anything", {"status": {"phase": "Approved"}})
    assert refused_patch.value.status in (403, 404)


def test_a_user_with_the_grant_permission_issues_a_direct_grant_within_the_safes_limits(
    operator: InProcessOperator, make_world
) -> None:
    world: World = make_world(members=[{"users": ["alice"]}], policy={"maxDuration": "1h"})
    grantor(world, "carol")
    world.create("carol", "Grant", grant_spec(world, "alice", timedelta(minutes=30), "standing-db"), name="standing")
    reaches(world, "standing", "Active", kind="Grant")
    delivered = eventually(lambda: secret(world, "standing-db"), what="alice reads it")
    assert delivered.metadata.owner_references[0].kind == "Grant"
    stored = world.get("Grant", "standing")["spec"]
    assert stored["issuedBy"] == "carol" and stored["issuedBySignature"].startswith("v2:")
    for who in ("audrey", "erin"):
        assert secret(world, "standing-db", user=who) is None, f"{who} may not read it"
    operator.advance(timedelta(minutes=30))
    reaches(world, "standing", "Expired", kind="Grant")
    assert secret(world, "standing-db", user="admin") is None


def test_a_direct_grant_longer_than_the_safe_allows_is_revoked_before_delivery(
    operator: InProcessOperator, make_world
) -> None:
    world: World = make_world(members=[{"users": ["alice"]}], policy={"maxDuration": "1h"})
    grantor(world, "carol")
    world.create("carol", "Grant", grant_spec(world, "alice", timedelta(hours=8), "long-db"), name="long")
    ended = reaches(world, "long", "Revoked", kind="Grant")
    assert ended["endedReason"] == "DurationOverMaximum" and "secretWrittenAt" not in ended
    assert secret(world, "long-db", user="admin") is None


def test_a_direct_grant_for_a_non_member_needs_the_safe_to_allow_standing_grants(
    operator: InProcessOperator, make_world
) -> None:
    world: World = make_world(members=[{"users": ["alice"]}])
    grantor(world, "carol")
    claimed = {**grant_spec(world, "dave", timedelta(minutes=30), "dave-db"), "subject": {"user": "dave",
                                                                                          "groups": ["dev"]}}
    world.create("carol", "Grant", claimed, name="for-dave")  # groups are the issuer's word: not counted
    assert reaches(world, "for-dave", "Revoked", kind="Grant")["endedReason"] == "NotAMember"
    world.update_safe(policy={"allowStandingGrants": True})
    world.create("carol", "Grant", grant_spec(world, "dave", timedelta(minutes=30), "dave-db2"), name="for-dave2")
    reaches(world, "for-dave2", "Active", kind="Grant")


def test_without_the_grant_permission_nobody_issues_a_direct_grant(operator: InProcessOperator, world: World) -> None:
    # bob may create Grants in the team namespace but holds `grant` on no Safe.
    apply(world.clients["admin"], [binding(world.team, "bob-grantor", rbac.GRANTOR_ROLE, [("User", "bob")])])
    may_create_grants(world, "bob")
    with pytest.raises(ApiException) as refused:
        world.create("bob", "Grant", grant_spec(world, "bob", timedelta(minutes=30), "bob-db"))
    assert refused.value.status == 403 and "`grant` verb" in refused.value.body


def test_a_grant_with_a_non_ascii_seal_is_revoked_and_the_others_are_reconciled(
    operator: InProcessOperator, make_world, clients: dict[str, client.ApiClient]
) -> None:
    world: World = make_world(policy={"requiredApprovals": 0, "allowStandingGrants": True})
    name, secret_name = active(world, "alice", "30m")
    with bypassed(clients["admin"], policies=False):
        spec = {**grant_spec(world, "admin", timedelta(minutes=30), "odd-db"), "issuedBy": "admin",
                "issuedBySignature": "v2:2030-01-01T00:00:00Z:ñøñçé:ü∂ƒ©˙∆˚¬"}
        world.create("admin", "Grant", spec, name="odd")
        assert reaches(world, "odd", "Revoked", kind="Grant")["endedReason"] == "UnverifiedIssuer"
    operator.advance(timedelta(minutes=30))
    reaches(world, name, "Expired")
    assert secret(world, secret_name, user="admin") is None
    assert status(world, name)["history"][-1]["event"] == "Expired"
