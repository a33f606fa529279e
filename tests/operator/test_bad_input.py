"""Bad input never crash-loops: each ends in a clear condition, a reason and an Event on the object,
or in the API server's own refusal."""

from __future__ import annotations

from kubernetes import client

from tests.conftest import OperatorProcess
from tests.operator.test_lifecycle import phase, status
from tests.waiting import eventually
from tests.world import World, refusal


def event_reasons(world: World, name: str, namespace: str | None = None) -> set[str]:
    listed = world.core("admin").list_namespaced_event(
        namespace or world.team, field_selector=f"involvedObject.name={name}")
    return {e.reason for e in listed.items}


def rejected(world: World, name: str) -> dict:
    eventually(lambda: phase(world, name) == "Rejected", what="Rejected")
    return status(world, name)


def test_an_unknown_account_is_rejected_with_a_reason_and_an_event(operator: OperatorProcess, world: World) -> None:
    name = world.create("alice", "AccessRequest", {
        "account": {"namespace": world.vault, "name": "no-such-account"}, "reason": "INC-1"})["metadata"]["name"]
    result = rejected(world, name)
    assert result["rejectedReason"] == "UnknownAccount"
    assert "no-such-account" in result["history"][-1]["message"]
    eventually(lambda: "UnknownAccount" in event_reasons(world, name), what="an UnknownAccount Event")


def test_a_duration_over_the_maximum_is_rejected(operator: OperatorProcess, make_world) -> None:
    world: World = make_world(policy={"maxDuration": "1h"})
    result = rejected(world, world.request("alice", duration="8h")["metadata"]["name"])
    assert result["rejectedReason"] == "DurationOverMaximum"


def test_a_zero_duration_is_rejected(operator: OperatorProcess, world: World) -> None:
    assert rejected(world, world.request("alice", duration="0m")["metadata"]["name"])["rejectedReason"] == (
        "InvalidWindow")


def test_a_window_that_ends_before_it_starts_is_refused_by_the_api_server(
    operator: OperatorProcess, world: World
) -> None:
    refused = refusal(lambda: world.request(
        "alice", window={"start": "2030-01-01T11:00:00Z", "end": "2030-01-01T10:00:00Z"}))
    assert refused.status == 422 and "must end after it starts" in refused.body


def test_an_unknown_time_zone_marks_the_safe_not_ready_and_rejects_requests(
    operator: OperatorProcess, make_world
) -> None:
    world: World = make_world(
        members=[{"groups": ["dev"], "schedule": "office"}],
        schedules=[{"name": "office", "timeZone": "Mars/Olympus_Mons",
                    "windows": [{"days": ["Mon"], "from": "09:00", "to": "17:00"}]}],
    )

    def ready() -> dict:
        conditions = (world.get("Safe", world.safe, namespace=world.vault).get("status") or {}).get("conditions", [])
        return next((c for c in conditions if c["type"] == "Ready"), {})

    eventually(lambda: ready().get("reason") == "InvalidSchedule", what="Safe not Ready")
    assert "Mars/Olympus_Mons" in ready()["message"]
    assert rejected(world, world.request("alice")["metadata"]["name"])["rejectedReason"] == "InvalidPolicy"


def test_a_missing_account_secret_is_reported_on_the_account_and_ends_the_grant(
    operator: OperatorProcess, make_world
) -> None:
    world: World = make_world(policy={"requiredApprovals": 0})
    world.core("admin").delete_namespaced_secret("db-admin", world.vault)

    def account_ready() -> dict:
        conditions = (world.get("Account", world.account, namespace=world.vault).get("status") or {}).get(
            "conditions", [])
        return next((c for c in conditions if c["type"] == "Ready"), {})

    eventually(lambda: account_ready().get("reason") == "SecretUnavailable", timeout=30, what="Account not Ready")
    name = world.request("alice")["metadata"]["name"]
    eventually(lambda: phase(world, name) == "Revoked", what="Revoked")
    grant = world.get("Grant", status(world, name)["grant"])
    assert grant["status"]["endedReason"] == "CredentialUnavailable"
    assert "db-admin" in grant["status"]["history"][-1]["message"]


def test_every_policy_refusal_is_reachable_and_named(operator: OperatorProcess, make_world) -> None:
    world: World = make_world(members=[{"users": ["alice"]}], policy={"requireTicket": True})
    cases = {
        "NotAMember": world.request("erin", ticket="INC-1"),
        "TicketRequired": world.request("alice"),
        "ScheduledNotAllowed": world.request(
            "alice", ticket="INC-1", window={"start": "2099-01-01T10:00:00Z", "end": "2099-01-01T11:00:00Z"}),
    }
    world.update_safe(policy={"requireReason": True, "requireTicket": False})
    cases["ReasonRequired"] = world.create("alice", "AccessRequest", {
        "account": {"namespace": world.vault, "name": world.account}})
    for reason, created in cases.items():
        assert rejected(world, created["metadata"]["name"])["rejectedReason"] == reason, reason


def test_a_request_from_a_namespace_the_safe_does_not_deliver_to_is_rejected(
    operator: OperatorProcess, make_world
) -> None:
    world: World = make_world(policy={"allowedNamespaces": {"names": ["somewhere-else"]}})
    assert rejected(world, world.request("alice")["metadata"]["name"])["rejectedReason"] == "NamespaceNotAllowed"


def test_a_requester_who_cannot_read_secrets_in_the_namespace_is_rejected(
    operator: OperatorProcess, world: World
) -> None:
    # In the vault namespace alice may file requests (a bespoke role) but not read Secrets.
    rbac = client.RbacAuthorizationV1Api(world.clients["admin"])
    rbac.create_namespaced_role(world.vault, {"metadata": {"name": "file-requests"}, "rules": [
        {"apiGroups": ["strongroom.dev"], "resources": ["accessrequests"], "verbs": ["create", "get"]}]})
    rbac.create_namespaced_role_binding(world.vault, {
        "metadata": {"name": "alice-files"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "file-requests"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "alice"}]})
    world.update_safe(policy={"allowedNamespaces": {"names": [world.team, world.vault]}})
    name = eventually(lambda: world.create("alice", "AccessRequest", {
        "account": {"namespace": world.vault, "name": world.account}, "reason": "INC-1"}, namespace=world.vault),
        what="created")["metadata"]["name"]
    eventually(lambda: (world.get("AccessRequest", name, namespace=world.vault).get("status") or {}).get(
        "phase") == "Rejected", what="Rejected")
    assert world.get("AccessRequest", name, namespace=world.vault)["status"]["rejectedReason"] == "CannotReadSecrets"
