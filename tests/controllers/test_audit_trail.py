"""Status, history and Events tell the story, naming people only once their seals verified; no
credential value is in any of them, nor in the logs."""

from __future__ import annotations

import json
from datetime import timedelta

from tests.controllers.helpers import active, reaches, status
from tests.operators import InProcessOperator
from tests.waiting import eventually
from tests.world import World


def test_no_credential_value_appears_in_logs_events_statuses_or_conditions(
    operator: InProcessOperator, world: World
) -> None:
    name = world.request("alice", duration="30m")["metadata"]["name"]
    world.review("bob", name, comment="approved for INC-1234")
    reaches(world, name, "Active")
    operator.advance(timedelta(minutes=30))
    reaches(world, name, "Expired")
    operator.settle()
    seen = [operator.output()]
    for namespace in (world.team, world.vault):
        seen.append(str(world.core("admin").list_namespaced_event(namespace).to_dict()))
    seen.append(json.dumps(world.get("AccessRequest", name)))
    seen.append(json.dumps(world.get("Grant", status(world, name)["grant"])))
    seen.append(json.dumps(world.get("Account", world.account, namespace=world.vault)))
    assert all(world.password not in text for text in seen)
    history = status(world, name)["history"]
    assert [h["event"] for h in history] == ["Submitted", "Approved", "Expired"]
    assert history[0]["actor"] == "alice" and "alice asked for" in history[0]["message"]
    assert "approved by bob" in history[1]["message"]
    reasons = {e.reason for e in world.core("admin").list_namespaced_event(world.team).items}
    assert {"Submitted", "Approved", "Activated", "Expired"} <= reasons


def test_safe_and_account_report_ready_counts_and_the_holder(operator: InProcessOperator, make_world) -> None:
    world: World = make_world(policy={"requiredApprovals": 0, "exclusiveCheckout": True})
    active(world, "alice")

    def safe_status() -> dict:
        return world.get("Safe", world.safe, namespace=world.vault).get("status") or {}

    eventually(lambda: safe_status().get("activeGrants") == 1, what="counted")
    assert safe_status()["accounts"] == 1
    assert safe_status()["conditions"][0]["status"] == "True"
    account = eventually(lambda: (world.get("Account", world.account, namespace=world.vault).get("status") or {})
                         .get("activeHolder") and world.get("Account", world.account, namespace=world.vault),
                         what="holder")
    assert account["status"]["activeHolder"] == "alice" and account["status"]["requestRequired"] is False
