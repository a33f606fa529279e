"""What a Safe's and an Account's status say: readiness, counts, and who holds a checked-out account."""

from __future__ import annotations

from typing import Any

from strongroom.api.account import Account
from strongroom.api.group import API_VERSION
from strongroom.api.safe import Safe
from strongroom.policy.inventory import account_status, policy_problem, safe_status

from .builders import access_request, account, at, grant, safe_object, safe_wire

NOW = at("2025-03-03T10:00:00Z")
EARLIER = "2025-03-01T08:00:00Z"


def ready(status: str, since: str = EARLIER) -> dict[str, Any]:
    return {"type": "Ready", "status": status, "reason": "Ready", "lastTransitionTime": since}


def safe_with(*, generation: int = 3, conditions: list[dict[str, Any]] | None = None, name: str = "prod-db",
              **spec: Any) -> Safe:
    return Safe.from_object({
        "apiVersion": API_VERSION,
        "kind": "Safe",
        "metadata": {"name": name, "namespace": "vault", "generation": generation},
        "spec": safe_wire(**spec),
        "status": {"conditions": conditions or []},
    })


def account_with(*, generation: int = 2, conditions: list[dict[str, Any]] | None = None) -> Account:
    wire = account().to_object()
    return Account.from_object({**wire, "metadata": {**wire["metadata"], "generation": generation},
                                "status": {"conditions": conditions or []}})


def weekly(name: str = "office", time_zone: str = "Europe/Berlin") -> dict[str, Any]:
    return {"name": name, "timeZone": time_zone, "windows": [{"days": ["Mon"], "from": "08:00", "to": "18:00"}]}


def limits(**policy: Any) -> dict[str, Any]:
    return {"allowedNamespaces": {"names": ["team"]}, **policy}


def only_condition(status: dict[str, Any]) -> dict[str, Any]:
    [condition] = status["conditions"]
    return condition


# --- policy_problem ----------------------------------------------------------------------------------


def test_a_safe_whose_schedules_and_durations_are_sound_has_no_policy_problem() -> None:
    assert policy_problem(safe_object(schedules=[weekly()])) is None


def test_an_unknown_time_zone_is_a_policy_problem_naming_the_schedule() -> None:
    assert policy_problem(safe_object(schedules=[weekly("mars", "Mars/Olympus")])) == (
        "schedule mars: unknown time zone 'Mars/Olympus': use an IANA name such as Europe/Berlin"
    )


def test_a_malformed_time_of_day_in_any_window_is_a_policy_problem() -> None:
    safe = safe_object(schedules=[weekly()])
    window = safe.spec.schedules[0].windows[0]
    for field in ("from_", "to"):
        schedule = safe.spec.schedules[0].model_copy(update={"windows": [window.model_copy(update={field: "8:00"})]})
        broken = safe.model_copy(update={"spec": safe.spec.model_copy(update={"schedules": [schedule]})})
        problem = policy_problem(broken)
        assert problem is not None and problem.startswith("schedule office: invalid time of day '8:00'"), problem


def test_a_default_duration_longer_than_the_maximum_is_a_policy_problem_and_an_equal_one_is_not() -> None:
    longer = safe_object(policy=limits(defaultDuration="3h", maxDuration="2h"))
    assert policy_problem(longer) == "defaultDuration 3h is longer than maxDuration 2h"
    assert policy_problem(safe_object(policy=limits(defaultDuration="2h", maxDuration="2h"))) is None
    assert policy_problem(safe_object(policy=limits(defaultDuration="300d"))) is None


# --- safe_status -----------------------------------------------------------------------------------


def test_a_sound_safe_is_ready_and_counts_its_accounts_pending_requests_and_active_grants() -> None:
    accounts = [
        account("db"),
        account("cache"),
        account("other-safes", safe="staging-db"),
        account("db", namespace="elsewhere"),  # a namesake Safe's account in another namespace
    ]
    requests = [
        access_request("r1"),
        access_request("r2", account={"namespace": "vault", "name": "cache"}),
        access_request("r3", status={"phase": "Approved"}),
        access_request("r4", account={"namespace": "vault", "name": "other-safes"}),
        access_request("r5", account={"namespace": "elsewhere", "name": "db"}),
        access_request("r6", account={"namespace": "elsewhere", "name": "db"}),
    ]
    grants = [
        grant("g1", "alice", "2025-03-03T09:00:00Z", "2025-03-03T11:00:00Z", account="db"),
        grant("g2", "bob", "2025-03-03T11:00:00Z", "2025-03-03T12:00:00Z", account="db", phase="Scheduled"),
        grant("g3", "bob", "2025-03-03T08:00:00Z", "2025-03-03T09:00:00Z", account="cache", phase="Expired"),
        grant("g4", "bob", "2025-03-03T09:00:00Z", "2025-03-03T11:00:00Z", account="other-safes"),
        grant("g5", "carol", "2025-03-03T09:00:00Z", "2025-03-03T11:00:00Z", account="other-safes"),
    ]
    status = safe_status(safe_with(), accounts, requests, grants, NOW)
    assert {key: value for key, value in status.items() if key != "conditions"} == {
        "observedGeneration": 3,
        "accounts": 2,
        "pendingRequests": 2,
        "activeGrants": 1,
    }
    assert only_condition(status) == {
        "type": "Ready",
        "status": "True",
        "reason": "Ready",
        "message": "accepting requests",
        "lastTransitionTime": "2025-03-03T10:00:00Z",
        "observedGeneration": 3,
    }


def test_a_blocked_safe_is_not_ready_and_says_why_even_when_its_policy_is_also_broken() -> None:
    blocked = safe_with(blocked=True, blockedReason="incident 7", schedules=[weekly("mars", "Mars/Olympus")])
    condition = only_condition(safe_status(blocked, [], [], [], NOW))
    assert (condition["status"], condition["reason"]) == ("False", "Blocked")
    assert condition["message"] == "blocked: incident 7"


def test_a_safe_whose_policy_cannot_be_evaluated_is_not_ready_with_the_problem() -> None:
    broken = safe_with(policy=limits(defaultDuration="3h", maxDuration="2h"))
    condition = only_condition(safe_status(broken, [], [], [], NOW))
    assert (condition["status"], condition["reason"]) == ("False", "InvalidPolicy")
    assert condition["message"] == "defaultDuration 3h is longer than maxDuration 2h"


def test_readiness_keeps_its_transition_time_while_its_status_holds_and_restarts_it_on_a_change() -> None:
    unchanged = only_condition(safe_status(safe_with(conditions=[ready("True")]), [], [], [], NOW))
    assert unchanged["lastTransitionTime"] == "2025-03-01T08:00:00Z"
    flipped = only_condition(safe_status(safe_with(conditions=[ready("False")]), [], [], [], NOW))
    assert flipped["lastTransitionTime"] == "2025-03-03T10:00:00Z"
    other = {**ready("True"), "type": "Synced"}
    assert only_condition(safe_status(safe_with(conditions=[other]), [], [], [], NOW))["lastTransitionTime"] == (
        "2025-03-03T10:00:00Z"
    )


def test_a_safe_of_generation_zero_reports_generation_zero() -> None:
    status = safe_status(safe_with(generation=0), [], [], [], NOW)
    assert status["observedGeneration"] == 0 and only_condition(status)["observedGeneration"] == 0


# --- account_status --------------------------------------------------------------------------------


def test_a_vaulted_account_of_an_existing_safe_is_ready_and_needs_a_request() -> None:
    status = account_status(account_with(), safe_with(), None, [], NOW)
    assert status == {
        "conditions": [{
            "type": "Ready",
            "status": "True",
            "reason": "Ready",
            "message": "the credential is vaulted and can be granted",
            "lastTransitionTime": "2025-03-03T10:00:00Z",
            "observedGeneration": 2,
        }],
        "observedGeneration": 2,
        "requestRequired": True,
        "activeHolder": None,
        "activeGrant": None,
    }


def test_an_account_whose_safe_is_missing_is_not_ready_and_still_needs_a_request() -> None:
    status = account_status(account_with(), None, "ignored while the Safe is missing", [], NOW)
    condition = only_condition(status)
    assert (condition["status"], condition["reason"]) == ("False", "SafeMissing")
    assert condition["message"] == "safe prod-db does not exist in namespace vault"
    assert status["requestRequired"] is True


def test_an_account_whose_secret_cannot_be_read_is_not_ready_with_the_problem() -> None:
    condition = only_condition(account_status(account_with(), safe_with(), "Secret vault/db-cred is gone", [], NOW))
    assert (condition["status"], condition["reason"], condition["message"]) == (
        "False", "SecretUnavailable", "Secret vault/db-cred is gone"
    )


def test_an_account_of_a_safe_without_approvals_needs_no_request() -> None:
    safe = safe_with(policy=limits(requiredApprovals=0))
    assert account_status(account_with(), safe, None, [], NOW)["requestRequired"] is False


def test_the_holder_of_an_exclusively_checked_out_account_is_its_active_grants_subject() -> None:
    exclusive = safe_with(policy=limits(exclusiveCheckout=True))
    grants = [
        grant("other-account", "carol", "2025-03-03T09:00:00Z", "2025-03-03T11:00:00Z", account="cache"),
        grant("later", "dave", "2025-03-03T11:00:00Z", "2025-03-03T12:00:00Z", account="db", phase="Scheduled"),
        grant("bobs", "bob", "2025-03-03T09:00:00Z", "2025-03-03T11:00:00Z", account="db"),
        grant("erins", "erin", "2025-03-03T09:00:00Z", "2025-03-03T11:00:00Z", account="db"),
    ]
    status = account_status(account_with(), exclusive, None, grants, NOW)
    assert (status["activeHolder"], status["activeGrant"]) == ("bob", "bobs")


def test_without_exclusive_checkout_or_an_active_grant_an_account_has_no_holder() -> None:
    held = [grant("bobs", "bob", "2025-03-03T09:00:00Z", "2025-03-03T11:00:00Z", account="db")]
    shared = account_status(account_with(), safe_with(), None, held, NOW)
    assert (shared["activeHolder"], shared["activeGrant"]) == (None, None)
    exclusive = safe_with(policy=limits(exclusiveCheckout=True))
    idle = account_status(account_with(), exclusive, None, [], NOW)
    assert (idle["activeHolder"], idle["activeGrant"]) == (None, None)
    orphan = account_status(account_with(), None, None, held, NOW)
    assert (orphan["activeHolder"], orphan["activeGrant"]) == (None, None)


def test_account_readiness_keeps_its_transition_time_while_its_status_holds() -> None:
    status = account_status(account_with(conditions=[ready("True")]), safe_with(), None, [], NOW)
    assert only_condition(status)["lastTransitionTime"] == "2025-03-01T08:00:00Z"
