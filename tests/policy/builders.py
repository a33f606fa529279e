"""Small builders for policy tests: Safes from wire-form dicts, times from RFC 3339 text."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from strongroom.models.accessrequest import Review
from strongroom.models.grant import Grant
from strongroom.models.safe import SafeSpec, Schedule


def at(text: str) -> datetime:
    """'2025-03-03T10:00:00Z' -> an aware UTC datetime."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    assert moment.tzinfo is not None, "test times carry a zone"
    return moment


def safe(**spec: Any) -> SafeSpec:
    """A Safe spec in wire form; alice and the dba group are members, bob, carol and dba-leads approve,
    and it delivers to namespace 'team'."""
    base: dict[str, Any] = {
        "members": [{"users": ["alice"], "groups": ["dba"]}],
        "approvers": {"users": ["bob", "carol"], "groups": ["dba-leads"]},
        "policy": {"allowedNamespaces": {"names": ["team"]}},
    }
    base.update(spec)
    return SafeSpec.model_validate(base)


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
) -> Grant:
    return Grant.from_object(
        {
            "apiVersion": "strongroom.dev/v1alpha1",
            "kind": "Grant",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "account": {"namespace": "vault", "name": account},
                "subject": {"user": user},
                "notBefore": not_before,
                "notAfter": not_after,
                "secretName": name,
                "source": {"accessRequest": name},
            },
            "status": {"phase": phase},
        }
    )
