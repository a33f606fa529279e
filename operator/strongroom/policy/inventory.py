"""What a Safe's and an Account's status say, computed from what exists (pure; the shell reads)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from strongroom.api.accessrequest import AccessRequest
from strongroom.api.account import Account
from strongroom.api.common import Condition, ConditionStatus, find_condition
from strongroom.api.grant import Grant
from strongroom.api.phases import AccessRequestPhase, GrantPhase
from strongroom.api.safe import Safe
from strongroom.policy.durations import parse_duration
from strongroom.policy.schedules import parse_hhmm, time_zone


def _ready(old: Sequence[Condition], ready: tuple[bool, str, str], *, now: datetime,
           generation: int) -> dict[str, Any]:
    ok, reason, message = ready
    status = ConditionStatus.TRUE if ok else ConditionStatus.FALSE
    previous = find_condition(old, "Ready")
    since = previous.last_transition_time if previous and previous.status == status else now
    condition = Condition(type="Ready", status=status, reason=reason, message=message, last_transition_time=since,
                          observed_generation=generation)
    return condition.model_dump(mode="json", by_alias=True, exclude_none=True)


def policy_problem(safe: Safe) -> str | None:
    """Why the Safe's policy cannot be evaluated (its requests are then rejected: InvalidPolicy)."""
    for schedule in safe.spec.schedules:
        try:
            time_zone(schedule.time_zone)
            for window in schedule.windows:
                parse_hhmm(window.from_)
                parse_hhmm(window.to)
        except ValueError as error:
            return f"schedule {schedule.name}: {error}"
    policy = safe.spec.policy
    if policy.max_duration is not None and parse_duration(policy.default_duration) > parse_duration(
            policy.max_duration):
        return f"defaultDuration {policy.default_duration} is longer than maxDuration {policy.max_duration}"
    return None


def _of_safe(safe: Safe, accounts: Sequence[Account]) -> set[tuple[str, str]]:
    return {(a.namespace, a.name) for a in accounts if a.namespace == safe.namespace and a.spec.safe == safe.name}


def safe_status(safe: Safe, accounts: Sequence[Account], requests: Sequence[AccessRequest],
                grants: Sequence[Grant], now: datetime) -> dict[str, Any]:
    mine = _of_safe(safe, accounts)
    problem = policy_problem(safe)
    if safe.spec.blocked:
        ready = (False, "Blocked", f"blocked: {safe.spec.blocked_reason}")
    elif problem:
        ready = (False, "InvalidPolicy", problem)
    else:
        ready = (True, "Ready", "accepting requests")
    return {
        "conditions": [_ready(safe.status.conditions, ready, now=now, generation=safe.generation)],
        "observedGeneration": safe.generation,
        "accounts": len(mine),
        "pendingRequests": sum(1 for r in requests if r.spec.account.key in mine
                               and r.status.phase is AccessRequestPhase.PENDING),
        "activeGrants": sum(1 for g in grants if g.spec.account.key in mine
                            and g.status.phase is GrantPhase.ACTIVE),
    }


def account_status(account: Account, safe: Safe | None, secret_problem: str | None, grants: Sequence[Grant],
                   now: datetime) -> dict[str, Any]:
    if safe is None:
        ready = (False, "SafeMissing", f"safe {account.spec.safe} does not exist in namespace {account.namespace}")
    elif secret_problem:
        ready = (False, "SecretUnavailable", secret_problem)
    else:
        ready = (True, "Ready", "the credential is vaulted and can be granted")
    holders = [g for g in grants if g.spec.account.key == (account.namespace, account.name)
               and g.status.phase is GrantPhase.ACTIVE]
    exclusive = safe is not None and safe.spec.policy.exclusive_checkout
    holder = holders[0] if exclusive and holders else None
    return {
        "conditions": [_ready(account.status.conditions, ready, now=now, generation=account.generation)],
        "observedGeneration": account.generation,
        "requestRequired": safe is None or safe.spec.policy.required_approvals > 0,
        "activeHolder": holder.spec.subject.user if holder else None,
        "activeGrant": holder.name if holder else None,
    }
