"""Proof that survives a bypass: with the webhooks gone or down, nothing written directly is honoured."""

from __future__ import annotations

from kubernetes import client

from strongroom.webhook.configurations import remove_configurations
from tests.conftest import Cluster, OperatorProcess, start_operator
from tests.operator.test_lifecycle import phase, status
from tests.waiting import eventually
from tests.world import World, refusal


def condition(world: World, name: str, type_: str) -> dict:
    return next((c for c in status(world, name).get("conditions", []) if c["type"] == type_), {})


def test_a_request_written_past_the_deleted_webhooks_is_never_honoured(
    operator: OperatorProcess, make_world, clients: dict[str, client.ApiClient]
) -> None:
    world: World = make_world(policy={"requiredApprovals": 0})
    remove_configurations(clients["admin"])
    unsigned = world.request("alice", wait=False)["metadata"]["name"]
    forged = world.request("alice", wait=False, requester="alice", requesterSignature="v1:2030-01-01T00:00:00Z:AAAA")
    for name in (unsigned, forged["metadata"]["name"]):
        eventually(lambda n=name: phase(world, n) == "Rejected", what="Rejected")
        assert status(world, name)["rejectedReason"] == "IdentityNotVerified"
        assert condition(world, name, "UnverifiedRequester")["status"] == "True"
        assert "grant" not in status(world, name)
    assert not world.core("admin").list_namespaced_secret(world.team).items


def test_approvals_written_past_the_deleted_webhooks_are_never_counted(
    operator: OperatorProcess, world: World, clients: dict[str, client.ApiClient]
) -> None:
    name = world.request("alice")["metadata"]["name"]  # stamped while the webhooks are there
    remove_configurations(clients["admin"])
    forged = {"user": "bob", "decision": "Approve", "time": "2030-01-01T00:00:00Z", "signature": "v1:forged"}
    world.patch_status("bob", "AccessRequest", name, [{"op": "add", "path": "/status/reviews", "value": [forged]}])
    eventually(lambda: condition(world, name, "UnverifiedReview").get("status") == "True", what="UnverifiedReview")
    assert "bob" in condition(world, name, "UnverifiedReview")["message"]
    assert status(world, name)["phase"] == "Pending" and status(world, name)["approvalsReceived"] == 0


def test_with_the_webhook_down_writes_are_refused_and_nothing_pending_is_granted(
    cluster: Cluster, operator: OperatorProcess, world: World, tmp_path
) -> None:
    name = world.request("alice")["metadata"]["name"]
    operator.stop()
    assert "failed calling webhook" in refusal(lambda: world.review("bob", name)).body
    restarted = start_operator(cluster, tmp_path / "restarted.log")
    try:
        eventually(lambda: status(world, name).get("conditions"), what="reconciled again")
        assert status(world, name)["phase"] == "Pending" and "grant" not in status(world, name)
    finally:
        restarted.stop()
