"""Small builders for policy tests: Safes, Accounts, requests and Grants from wire-form dicts, times from
RFC 3339 text."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from strongroom.api.accessrequest import AccessRequest, Review
from strongroom.api.account import Account
from strongroom.api.grant import Grant
from strongroom.api.group import API_VERSION
from strongroom.api.safe import Safe, SafeSpec, Schedule


def at(text: str) -> datetime:
    """'2025-03-03T10:00:00Z' -> an aware UTC datetime."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    assert moment.tzinfo is not None, "test times carry a zone"
    return moment


def safe_wire(**spec: Any) -> dict[str, Any]:
    """A Safe spec in wire form; alice and the dba group are members, bob, carol and dba-leads approve,
    and it delivers to namespace 'team'."""
    base: dict[str, Any] = {
        "members": [{"users": ["alice"], "groups": ["dba"]}],
        "approvers": {"users": ["bob", "carol"], "groups": ["dba-leads"]},
        "policy": {"allowedNamespaces": {"names": ["team"]}},
    }
    base.update(spec)
    return base


def safe(**spec: Any) -> SafeSpec:
    """The spec of `safe_wire`, parsed."""
    return SafeSpec.model_validate(safe_wire(**spec))


def safe_object(name: str = "prod-db", namespace: str = "vault", **spec: Any) -> Safe:
    """A whole Safe object around `safe_wire(**spec)`."""
    return Safe.from_object(
        {
            "apiVersion": API_VERSION,
            "kind": "Safe",
            "metadata": {"name": name, "namespace": namespace},
            "spec": safe_wire(**spec),
        }
    )


def account(name: str = "db", namespace: str = "vault", **spec: Any) -> Account:
    """An Account of Safe prod-db: user 'app' on db.internal:5432, password in Secret db-cred."""
    wire: dict[str, Any] = {
        "safe": "prod-db",
        "username": "app",
        "host": "db.internal",
        "port": 5432,
        "secretRef": {"name": "db-cred"},
        **spec,
    }
    return Account.from_object(
        {"apiVersion": API_VERSION, "kind": "Account", "metadata": {"name": name, "namespace": namespace}, "spec": wire}
    )


def access_request(
    name: str = "req-1",
    namespace: str = "team",
    *,
    created: str = "2025-03-03T10:00:00Z",
    reviews: list[dict[str, Any]] | None = None,
    status: dict[str, Any] | None = None,
    **spec: Any,
) -> AccessRequest:
    """A Pending request by alice (group dev) for account vault/db, created at `created`."""
    wire: dict[str, Any] = {
        "account": {"namespace": "vault", "name": "db"},
        "requester": "alice",
        "requesterGroups": ["dev"],
        "requesterSignature": "stamped",
        **spec,
    }
    return AccessRequest.from_object(
        {
            "apiVersion": API_VERSION,
            "kind": "AccessRequest",
            "metadata": {"name": name, "namespace": namespace, "uid": f"uid-{name}", "creationTimestamp": created},
            "spec": wire,
            "status": {"phase": "Pending", "reviews": reviews or [], **(status or {})},
        }
    )


def policy(**fields: Any) -> SafeSpec:
    """The default Safe with these policy fields (wire names)."""
    return safe(policy={"allowedNamespaces": {"names": ["team"]}, **fields})


def schedule(time_zone: str, *windows: tuple[list[str], str, str], name: str = "office") -> Schedule:
    return Schedule.model_validate(
        {
            "name": name,
            "timeZone": time_zone,
            "windows": [{"days": days, "from": start, "to": end} for days, start, end in windows],
        }
    )


def review(user: str, decision: str = "Approve", time: str = "2025-03-03T10:05:00Z", **extra: Any) -> Review:
    return Review.model_validate({"user": user, "decision": decision, "time": time, "signature": "ok", **extra})


def signed(review: Review) -> bool:
    """The stand-in for signature checking: reviews signed 'ok' pass."""
    return review.signature == "ok"


def grant(
    name: str,
    user: str,
    not_before: str,
    not_after: str,
    *,
    phase: str = "Active",
    account: str = "pg-admin",
    namespace: str = "team",
    groups: tuple[str, ...] = (),
    source_uid: str | None = None,
) -> Grant:
    """A Grant issued for request `name` (of uid `source_uid`, when given)."""
    source: dict[str, Any] = {"accessRequest": name}
    if source_uid is not None:
        source["uid"] = source_uid
    return Grant.from_object(
        {
            "apiVersion": "strongroom.dev/v1alpha1",
            "kind": "Grant",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "account": {"namespace": "vault", "name": account},
                "subject": {"user": user, "groups": list(groups)},
                "notBefore": not_before,
                "notAfter": not_after,
                "secretName": name,
                "source": source,
            },
            "status": {"phase": phase},
        }
    )
