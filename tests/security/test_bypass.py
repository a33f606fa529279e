"""Proof that survives a bypass: writes made while the webhooks (and even the admission policies) were
removed are never honoured, and a seal copied onto another object is not honoured either."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from tests.controllers.helpers import active, phase, reaches, secret, status
from tests.operators import InProcessOperator
from tests.security.helpers import bypassed
from tests.waiting import eventually
from tests.world import World


def condition(world: World, name: str, type_: str) -> dict[str, Any]:
    return next((c for c in status(world, name).get("conditions", []) if c["type"] == type_), {})


def clone(world: World, original: dict[str, Any], user: str, name: str) -> dict[str, Any]:
    """`original`'s spec and seal, in a new object created by `user`."""
    return world.objects(user).create_namespaced_custom_object("strongroom.dev", "v1alpha1", world.team,
                                                               "accessrequests", {
        "apiVersion": "strongroom.dev/v1alpha1", "kind": "AccessRequest", "metadata": {"name": name},
        "spec": {k: v for k, v in original["spec"].items() if k != "release"}})


def never_names(world: World, name: str, who: str) -> None:
    for entry in status(world, name).get("history", []):
        assert entry["actor"] != who, entry
        assert who not in entry["message"] or f"claims {who}" in entry["message"], entry


def test_a_request_written_past_the_removed_webhooks_is_never_honoured(
    operator: InProcessOperator, make_world, clients: dict[str, client.ApiClient]
) -> None:
    world: World = make_world(policy={"requiredApprovals": 0})
    with bypassed(clients["admin"], policies=False):
        unsigned = world.request("alice", wait=False, requester="alice")["metadata"]["name"]
        forged = world.request("alice", wait=False, requester="alice",
                               requesterSignature="v2:2030-01-01T00:00:00Z:nonce:AAAA")["metadata"]["name"]
        for name in (unsigned, forged):
            assert reaches(world, name, "Rejected")["rejectedReason"] == "IdentityNotVerified"
            assert condition(world, name, "UnverifiedRequester")["status"] == "True"
            assert "grant" not in status(world, name)
            never_names(world, name, "alice")
    assert not world.core("admin").list_namespaced_secret(world.team, label_selector="strongroom.dev/grant").items


@pytest.mark.parametrize("policies", [False, True], ids=["webhooks-removed", "webhooks-and-policies-removed"])
def test_a_copied_seal_on_a_recreated_request_is_never_honoured(
    operator: InProcessOperator, make_world, clients: dict[str, client.ApiClient], policies: bool
) -> None:
    world: World = make_world(members=[{"users": ["alice"]}], approvers={"users": ["bob"]})
    original = world.request("alice", duration="30m")
    name = original["metadata"]["name"]
    eventually(lambda: status(world, name).get("requesterBinding"), what="alice's seal honoured for her request")
    with bypassed(clients["admin"], policies=policies):
        world.objects("admin").delete_namespaced_custom_object("strongroom.dev", "v1alpha1", world.team,
                                                               "accessrequests", name)
        eventually(lambda: _gone(world, name), what="deleted")
        attempts = []
        for target in (name, f"{name}-again"):  # the same name within a second, and another one
            try:
                attempts.append(clone(world, original, "erin", target)["metadata"]["name"])
            except ApiException as refused:
                assert not policies and refused.status in (403, 422), refused.body
        if not policies:
            assert not attempts, "the admission policy refuses erin filing in alice's name"
            return
        for copy in attempts:
            reaches(world, copy, "Rejected")
            assert condition(world, copy, "UnverifiedRequester")["reason"] == "SignatureReused"
            never_names(world, copy, "alice")
        operator.settle()
        for copy in attempts:
            assert phase(world, copy) == "Rejected" and "grant" not in status(world, copy)


def _gone(world: World, name: str) -> bool:
    try:
        world.get("AccessRequest", name)
    except ApiException as exc:
        return exc.status == 404
    return False


@pytest.mark.parametrize("policies", [False, True], ids=["webhooks-removed", "webhooks-and-policies-removed"])
def test_a_release_written_past_the_removed_webhooks_is_not_honoured(
    operator: InProcessOperator, make_world, clients: dict[str, client.ApiClient], policies: bool
) -> None:
    world: World = make_world(policy={"requiredApprovals": 0})
    name, secret_name = active(world, "alice", "30m")
    with bypassed(clients["admin"], policies=policies):
        try:
            world.patch("erin", "AccessRequest", name, {"spec": {"release": True, "releasedBy": "alice"}})
        except ApiException as refused:
            assert not policies and refused.status in (403, 422), refused.body
            return
        eventually(lambda: condition(world, name, "UnverifiedRelease").get("status") == "True",
                   what="the release is reported as not honoured")
        operator.settle()
        assert phase(world, name) == "Active" and secret(world, secret_name) is not None
        assert not [h for h in status(world, name)["history"] if h["event"] == "Released"]


def test_approvals_written_past_the_removed_webhooks_are_never_counted(
    operator: InProcessOperator, world: World, clients: dict[str, client.ApiClient]
) -> None:
    name = world.request("alice")["metadata"]["name"]  # stamped while the webhooks are there
    with bypassed(clients["admin"], policies=True):
        forged = {"user": "bob", "decision": "Approve", "time": "2030-01-01T00:00:00Z", "signature": "v2:forged"}
        world.patch_status("bob", "AccessRequest", name, [{"op": "add", "path": "/status/reviews", "value": [forged]}])
        eventually(lambda: condition(world, name, "UnverifiedReview").get("status") == "True",
                   what="UnverifiedReview")
        operator.settle()
        assert status(world, name)["phase"] == "Pending" and status(world, name)["approvalsReceived"] == 0
        # The one approval this Safe needs, had it counted, would have approved it: it was the deciding one.
        assert world.get("Safe", world.safe, namespace=world.vault)["spec"]["policy"]["requiredApprovals"] == 1


def test_with_the_webhook_down_writes_are_refused_and_nothing_pending_is_granted(
    in_process, world: World
) -> None:
    operator: InProcessOperator = in_process()
    name = world.request("alice")["metadata"]["name"]
    operator.stop()
    with pytest.raises(ApiException) as refused:
        world.review("bob", name)
    assert "failed calling webhook" in refused.value.body
    restarted: InProcessOperator = in_process()
    restarted.settle()
    assert status(world, name)["phase"] == "Pending" and "grant" not in status(world, name)
