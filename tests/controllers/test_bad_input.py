"""Every value the API accepts is handled; what cannot be handled is refused by the API server in one
line naming the field. Bad input ends in a clear condition, a reason and an Event, never a loop."""

from __future__ import annotations

import json

import pytest
from kubernetes.client.exceptions import ApiException

from tests.controllers.helpers import reaches, status
from tests.operators import InProcessOperator
from tests.waiting import eventually
from tests.world import World, refusal


def event_reasons(world: World, name: str, namespace: str | None = None) -> set[str]:
    listed = world.core("admin").list_namespaced_event(
        namespace or world.team, field_selector=f"involvedObject.name={name}")
    return {e.reason for e in listed.items}


def message(refused: ApiException) -> str:
    return str(json.loads(refused.body)["message"])


def test_an_unknown_account_is_rejected_with_a_reason_and_an_event(operator: InProcessOperator, world: World) -> None:
    name = world.create("alice", "AccessRequest", {
        "account": {"namespace": world.vault, "name": "no-such-account"}, "reason": "INC-1"})["metadata"]["name"]
    result = reaches(world, name, "Rejected")
    assert result["rejectedReason"] == "UnknownAccount"
    assert "no-such-account" in result["history"][-1]["message"]
    eventually(lambda: "UnknownAccount" in event_reasons(world, name), what="an UnknownAccount Event")


def test_a_duration_over_the_maximum_is_rejected(operator: InProcessOperator, make_world) -> None:
    world: World = make_world(policy={"maxDuration": "1h"})
    name = world.request("alice", duration="8h")["metadata"]["name"]
    assert reaches(world, name, "Rejected")["rejectedReason"] == "DurationOverMaximum"


@pytest.mark.parametrize("duration", ["0m", "367d", "3000000d", "9999999999d", "1h99999999999s"])
def test_durations_the_operator_could_not_handle_are_refused_by_the_api_server(
    operator: InProcessOperator, world: World, duration: str
) -> None:
    refused = refusal(lambda: world.request("alice", duration=duration))
    assert refused.status == 422 and "spec.duration" in message(refused)
    assert "\n" not in message(refused)


def test_a_safe_with_durations_out_of_bounds_is_refused(world: World) -> None:
    refused = refusal(lambda: world.update_safe(policy={"approvalTimeout": "9999999999d"}))
    assert refused.status == 422 and "spec.policy.approvalTimeout" in message(refused)


def test_a_window_that_ends_before_it_starts_or_lasts_too_long_is_refused(operator: InProcessOperator,
                                                                          world: World) -> None:
    backwards = refusal(lambda: world.request(
        "alice", window={"start": "2030-01-01T11:00:00Z", "end": "2030-01-01T10:00:00Z"}))
    assert backwards.status == 422 and "must end after it starts" in message(backwards)
    endless = refusal(lambda: world.request(
        "alice", window={"start": "2030-01-01T11:00:00Z", "end": "2032-01-01T10:00:00Z"}))
    assert endless.status == 422 and "at most 366d" in message(endless)


def test_a_request_name_too_long_for_its_grant_is_refused(operator: InProcessOperator, world: World) -> None:
    refused = refusal(lambda: world.request("alice", name="x" * 64))
    assert refused.status == 422 and "at most 63 characters" in message(refused)


def test_over_long_fields_are_refused_at_admission_in_one_line_naming_the_field(
    operator: InProcessOperator, world: World
) -> None:
    refused = refusal(lambda: world.request("alice", reason="r" * 5000))
    assert refused.status == 422, refused.body
    text = message(refused)
    assert "spec.reason" in text and "\n" not in text and "pydantic" not in text.lower()


def test_a_reason_at_the_limit_is_handled_and_its_history_cut_to_fit(operator: InProcessOperator,
                                                                      world: World) -> None:
    name = world.request("alice", reason="r" * 1024)["metadata"]["name"]
    first = eventually(lambda: status(world, name)["history"][0], what="recorded")
    assert len(first["message"]) <= 1024 and first["message"].endswith("…")
    operator.settle()
    assert status(world, name)["phase"] == "Pending"


def test_an_unknown_time_zone_marks_the_safe_not_ready_and_rejects_requests(
    operator: InProcessOperator, make_world
) -> None:
    world: World = make_world(
        members=[{"groups": ["dev"], "schedule": "office"}],
        schedules=[{"name": "office", "timeZone": "Mars/Olympus_Mons",
                    "windows": [{"days": ["Mon"], "from": "09:00", "to": "17:00"}]}],
    )

    def ready() -> dict:
        conditions = (world.get("Safe", world.safe, namespace=world.vault).get("status") or {}).get("conditions", [])
        return next((c for c in conditions if c["type"] == "Ready"), {})

    eventually(lambda: ready().get("reason") == "InvalidPolicy", what="Safe not Ready")
    assert "Mars/Olympus_Mons" in ready()["message"]
    name = world.request("alice")["metadata"]["name"]
    assert reaches(world, name, "Rejected")["rejectedReason"] == "InvalidPolicy"


def test_a_missing_account_secret_is_reported_on_the_account_and_ends_the_grant(
    operator: InProcessOperator, make_world
) -> None:
    world: World = make_world(policy={"requiredApprovals": 0})
    world.core("admin").delete_namespaced_secret("db-admin", world.vault)
    world.patch("admin", "Account", world.account, {"spec": {"fields": {"note": "changed"}}}, namespace=world.vault)

    def account_ready() -> dict:
        conditions = (world.get("Account", world.account, namespace=world.vault).get("status") or {}).get(
            "conditions", [])
        return next((c for c in conditions if c["type"] == "Ready"), {})

    eventually(lambda: account_ready().get("reason") == "SecretUnavailable", what="Account not Ready")
    name = world.request("alice")["metadata"]["name"]
    ended = reaches(world, name, "Rejected")
    assert ended["rejectedReason"] == "CredentialUnavailable" and "db-admin" in ended["history"][-1]["message"]


def test_every_policy_refusal_is_reachable_and_named(operator: InProcessOperator, make_world) -> None:
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
        assert reaches(world, created["metadata"]["name"], "Rejected")["rejectedReason"] == reason, reason


def test_a_request_from_a_namespace_the_safe_does_not_deliver_to_is_rejected(
    operator: InProcessOperator, make_world
) -> None:
    world: World = make_world(policy={"allowedNamespaces": {"names": ["somewhere-else"]}})
    name = world.request("alice")["metadata"]["name"]
    assert reaches(world, name, "Rejected")["rejectedReason"] == "NamespaceNotAllowed"


def test_bad_input_costs_one_line_each_and_no_loop(operator: InProcessOperator, make_world) -> None:
    """Every kind of refusal above at once; afterwards the operator is quiet: no retries, no log."""
    world: World = make_world(members=[{"users": ["alice"]}], policy={"requireTicket": True})
    names = [world.request("erin", ticket="INC-1")["metadata"]["name"], world.request("alice")["metadata"]["name"],
             world.create("alice", "AccessRequest", {"account": {"namespace": world.vault, "name": "nope"},
                                                      "reason": "x"})["metadata"]["name"]]
    for name in names:
        reaches(world, name, "Rejected")
    # Earlier tests' namespaces end meanwhile, and the operator follows what ends in them: wait for that.
    core = world.core("admin")
    eventually(lambda: not [n for n in core.list_namespace().items if n.status.phase == "Terminating"],
               timeout=120, what="earlier tests' namespaces gone")
    operator.settle()
    before_lines, before_calls = lines_about(operator, world), calls_by_resource(operator)
    operator.settle(quiet=2)
    assert lines_about(operator, world) == before_lines, "nothing logged when nothing happens"
    assert calls_by_resource(operator) == before_calls, "no API call when nothing happens"
    errors = operator.ctx.metrics.registry.get_sample_value
    assert errors("strongroom_reconcile_errors_total", {"kind": "AccessRequest", "cause": "transient"}) is None


def lines_about(operator: InProcessOperator, world: World) -> list[str]:
    return [line for line in operator.output().splitlines() if world.team in line or world.vault in line]


def calls_by_resource(operator: InProcessOperator) -> dict[str, float]:
    """The operator's API calls so far by resource, leaving out leader election (a Lease renewal every
    retry period is the price of having a leader, whatever the number of objects)."""
    counted: dict[str, float] = {}
    for metric in operator.ctx.metrics.api_requests.collect():
        for sample in metric.samples:
            if sample.name.endswith("_total") and sample.labels["resource"] != "leases":
                resource = sample.labels["resource"]
                counted[resource] = counted.get(resource, 0) + sample.value
    return counted
