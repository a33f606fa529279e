"""Status, history and Events tell the story; no credential value is in any of them, nor in the logs."""

from __future__ import annotations

import json
from pathlib import Path

from kubernetes import client

from strongroom.webhook.configurations import remove_configurations
from tests.conftest import Cluster, OperatorProcess, start_operator
from tests.operator.test_lifecycle import phase, status
from tests.waiting import eventually
from tests.world import World


def test_no_credential_value_appears_in_logs_events_statuses_or_conditions(
    operator: OperatorProcess, world: World
) -> None:
    name = world.request("alice", duration="3s")["metadata"]["name"]
    world.review("bob", name, comment="approved for INC-1234")
    eventually(lambda: phase(world, name) == "Expired", timeout=20, what="Expired")
    operator.stop()
    seen = [operator.output()]
    for namespace in (world.team, world.vault):
        seen.append(str(world.core("admin").list_namespaced_event(namespace).to_dict()))
    seen.append(json.dumps(world.get("AccessRequest", name)))
    seen.append(json.dumps(world.get("Grant", status(world, name)["grant"])))
    seen.append(json.dumps(world.get("Account", world.account, namespace=world.vault)))
    assert all(world.password not in text for text in seen)
    history = [h["event"] for h in status(world, name)["history"]]
    assert history[0] == "Submitted" and "Approved" in history and history[-1] == "Expired"
    assert any(h["actor"] == "alice" for h in status(world, name)["history"])
    reasons = {e.reason for e in world.core("admin").list_namespaced_event(world.team).items}
    assert {"Submitted", "Approved", "Active", "Expired"} <= reasons


def test_safe_and_account_report_ready_counts_and_the_holder(operator: OperatorProcess, make_world) -> None:
    world: World = make_world(policy={"requiredApprovals": 0, "exclusiveCheckout": True})
    name = world.request("alice", duration="30m")["metadata"]["name"]
    eventually(lambda: phase(world, name) == "Active", what="Active")

    def safe_status() -> dict:
        return world.get("Safe", world.safe, namespace=world.vault).get("status") or {}

    eventually(lambda: safe_status().get("activeGrants") == 1, timeout=40, what="counted")
    assert safe_status()["accounts"] == 1
    assert safe_status()["conditions"][0]["status"] == "True"
    account = eventually(lambda: (world.get("Account", world.account, namespace=world.vault).get("status") or {})
                         .get("activeHolder") and world.get("Account", world.account, namespace=world.vault),
                         timeout=40, what="holder")
    assert account["status"]["activeHolder"] == "alice" and account["status"]["requestRequired"] is False


def test_finished_requests_are_deleted_with_their_grants_after_the_retention(
    cluster: Cluster, make_world, clients: dict[str, client.ApiClient], crds: list, tmp_path: Path
) -> None:
    running = start_operator(cluster, tmp_path / "operator.log", None, "--retention", "3s")
    try:
        world: World = make_world(policy={"requiredApprovals": 0})
        name = world.request("alice", duration="2s")["metadata"]["name"]
        eventually(lambda: phase(world, name) == "Expired", timeout=20, what="Expired")
        grant = status(world, name)["grant"]
        objects = world.objects("admin")
        eventually(lambda: not objects.list_namespaced_custom_object(
            "strongroom.dev", "v1alpha1", world.team, "accessrequests")["items"], timeout=20, what="request retired")
        eventually(lambda: not [g for g in objects.list_namespaced_custom_object(
            "strongroom.dev", "v1alpha1", world.team, "grants")["items"] if g["metadata"]["name"] == grant],
            timeout=20, what="grant collected")
    finally:
        running.stop()
        remove_configurations(clients["admin"])
