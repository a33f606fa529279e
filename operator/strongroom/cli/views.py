"""What the people's commands decide and show, as pure functions over API objects: table rows,
which requests await me, which accounts I may request, how a request's spec is built."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from strongroom.api.common import format_time
from strongroom.api.phases import AccessRequestPhase
from strongroom.api.safe import SafeSpec
from strongroom.policy.approvals import is_approver
from strongroom.policy.durations import parse_duration
from strongroom.policy.eligibility import check_requester, is_listed

Obj = Mapping[str, Any]
FINISHED = frozenset({AccessRequestPhase.EXPIRED, AccessRequestPhase.RELEASED, AccessRequestPhase.REVOKED,
                      AccessRequestPhase.DENIED, AccessRequestPhase.TIMED_OUT, AccessRequestPhase.REJECTED})
WITHOUT_ACCESS = frozenset({AccessRequestPhase.DENIED, AccessRequestPhase.TIMED_OUT, AccessRequestPhase.REJECTED})

REQUEST_COLUMNS = {"NAMESPACE": "namespace", "NAME": "name", "ACCOUNT": "account", "REQUESTER": "requester",
                   "PHASE": "phase", "APPROVALS": "approvals", "FROM": "notBefore", "UNTIL": "notAfter",
                   "REASON": "reason"}
HISTORY_COLUMNS = {"TIME": "time", "WHO": "actor", "WHAT": "event", "DETAIL": "message"}
ACCOUNT_COLUMNS = {"NAMESPACE": "namespace", "ACCOUNT": "name", "SAFE": "safe", "USER": "username",
                   "HOST": "host", "APPROVALS": "approvals", "MAX": "maxDuration", "NOW": "eligible",
                   "WHY": "why"}


def phase(request: Obj) -> str:
    return (request.get("status") or {}).get("phase") or AccessRequestPhase.PENDING


def account_key(request: Obj) -> tuple[str, str]:
    account = request["spec"]["account"]
    return account["namespace"], account["name"]


def request_row(request: Obj) -> dict[str, Any]:
    spec, status = request["spec"], request.get("status") or {}
    return {
        "namespace": request["metadata"]["namespace"],
        "name": request["metadata"]["name"],
        "account": "/".join(account_key(request)),
        "requester": spec.get("requester"),
        "phase": phase(request),
        "approvals": f"{status.get('approvalsReceived', 0)}/{status.get('approvalsRequired', 0)}",
        "notBefore": status.get("notBefore"),
        "notAfter": status.get("notAfter"),
        "reason": spec.get("reason"),
    }


def history_rows(request: Obj) -> list[dict[str, Any]]:
    """The operator's history merged with the reviews (which approvers write themselves), by time."""
    status = request.get("status") or {}
    reviews = [{"time": review["time"], "actor": review["user"], "event": f"Review{review['decision']}",
                "message": review.get("comment") or ""} for review in status.get("reviews") or [] if "time" in review]
    return sorted([*(dict(entry) for entry in status.get("history") or []), *reviews], key=lambda row: row["time"])


def safe_of(account: Obj, safes: Mapping[tuple[str, str], Obj]) -> Obj | None:
    return safes.get((account["metadata"]["namespace"], account["spec"]["safe"]))


def awaiting(requests: Iterable[Obj], accounts: Mapping[tuple[str, str], Obj], safes: Mapping[tuple[str, str], Obj],
             user: str, groups: Sequence[str]) -> list[Obj]:
    """Pending requests of others, for accounts whose Safe names me an approver, that I have not reviewed."""
    mine = []
    for request in requests:
        if phase(request) != AccessRequestPhase.PENDING or request["spec"].get("requester") == user:
            continue
        if any(review.get("user") == user for review in (request.get("status") or {}).get("reviews") or []):
            continue
        account = accounts.get(account_key(request))
        safe = safe_of(account, safes) if account else None
        if safe and is_approver(SafeSpec.model_validate(safe["spec"]).approvers, user, groups):
            mine.append(request)
    return mine


def approver_namespaces(safes: Iterable[Obj], user: str, groups: Sequence[str]) -> set[str]:
    """The namespaces the Safes I approve for deliver to, by name: where requests for me are filed."""
    names: set[str] = set()
    for safe in safes:
        spec = SafeSpec.model_validate(safe["spec"])
        if is_approver(spec.approvers, user, groups):
            names.update(spec.policy.allowed_namespaces.names)
    return names


def account_rows(accounts: Iterable[Obj], safes: Mapping[tuple[str, str], Obj], user: str, groups: Sequence[str],
                 *, namespace: str, namespace_labels: Mapping[str, str], now: datetime) -> list[dict[str, Any]]:
    """Each Account I am a member of, and whether I may request it into `namespace` now (and if not, why)."""
    rows = []
    for account in accounts:
        safe = safe_of(account, safes)
        if safe is None:
            continue
        spec = SafeSpec.model_validate(safe["spec"])
        if not any(is_listed(member, user, groups) for member in spec.members):
            continue  # not mine to ask for: the catalog shows only what I may request
        try:
            decision = check_requester(spec, user, groups, namespace, namespace_labels, now=now)
        except ValueError as exc:  # a Safe that cannot be evaluated says so instead of hiding the account
            decision_allowed, why = False, str(exc)
        else:
            decision_allowed, why = decision.allowed, ("" if decision.allowed else decision.message)
        rows.append({
            "namespace": account["metadata"]["namespace"],
            "name": account["metadata"]["name"],
            "safe": account["spec"]["safe"],
            "username": account["spec"].get("username"),
            "host": account["spec"].get("host"),
            "approvals": spec.policy.required_approvals,
            "maxDuration": spec.policy.max_duration,
            "eligible": "yes" if decision_allowed else "no",
            "why": why,
        })
    return rows


def parse_time(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"invalid time {text!r}: use RFC 3339, e.g. 2026-12-01T09:00:00Z") from exc
    if moment.tzinfo is None:
        raise ValueError(f"invalid time {text!r}: give a time zone, e.g. Z or +01:00")
    return moment


def request_spec(account: tuple[str, str], *, reason: str | None, ticket: str | None, duration: str | None,
                 start: str | None, end: str | None) -> dict[str, Any]:
    """The spec of a new request; refuses what the API would refuse, with the same words, before sending."""
    spec: dict[str, Any] = {"account": {"namespace": account[0], "name": account[1]}}
    spec |= {key: value for key, value in (("reason", reason), ("ticket", ticket)) if value}
    if duration and (start or end):
        raise ValueError("give either --for or --from/--until, not both")
    if duration:
        parse_duration(duration)
        spec["duration"] = duration
    elif start or end:
        if not (start and end):
            raise ValueError("--from and --until go together")
        first, last = parse_time(start), parse_time(end)
        if last <= first:
            raise ValueError("the window must end after it starts")
        spec["window"] = {"start": format_time(first), "end": format_time(last)}
    return spec


def split_account(text: str, accounts: Iterable[Obj]) -> tuple[str, str]:
    """NAMESPACE/NAME as given, or NAME when exactly one Account I can see has it."""
    if "/" in text:
        namespace, _, name = text.partition("/")
        return namespace, name
    found = sorted({account["metadata"]["namespace"] for account in accounts if account["metadata"]["name"] == text})
    if len(found) != 1:
        where = f"in {', '.join(found)}" if found else "that you can see"
        raise ValueError(f"{'several' if found else 'no'} accounts named {text} {where}; write NAMESPACE/{text}")
    return found[0], text


def environment(data: Mapping[str, str], prefix: str) -> str:
    """Shell `export` lines for a credential's keys (quoted, so any value is safe to eval)."""
    lines = []
    for key, value in sorted(data.items()):
        name = prefix + re.sub(r"[^A-Za-z0-9]", "_", key).upper()
        lines.append(f"export {name}={shlex.quote(value)}")
    return "\n".join(lines)
