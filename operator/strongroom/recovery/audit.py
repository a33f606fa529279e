"""Audit reports (pure): who requested what, who approved, when access started and ended.

Rows come from AccessRequests (live, or restored history) and never from a Secret: nothing here can
hold a credential value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from strongroom.api.accessrequest import AccessRequest, ReviewDecision
from strongroom.api.common import format_time

COLUMNS = ("namespace", "request", "safe", "account", "requester", "reason", "ticket", "phase", "requested",
           "approvedBy", "deniedBy", "decided", "accessStart", "accessEnd", "grant", "source")


def _time(value: datetime | None) -> str:
    return format_time(value) if value else ""


def request_row(request: AccessRequest, safe_of: Mapping[tuple[str, str], str], source: str) -> dict[str, str]:
    status = request.status
    by = {d: ", ".join(r.user for r in status.reviews if r.decision == d) for d in ReviewDecision}
    account = request.spec.account
    return {
        "namespace": request.namespace,
        "request": request.name,
        "safe": safe_of.get(account.key, ""),
        "account": f"{account.namespace}/{account.name}",
        "requester": request.spec.requester or "",
        "reason": request.spec.reason or "",
        "ticket": request.spec.ticket or "",
        "phase": status.phase.value,
        "requested": _time(status.created_at or (request.created if "creationTimestamp" in request.metadata
                                                  else None)),
        "approvedBy": by[ReviewDecision.APPROVE],
        "deniedBy": by[ReviewDecision.DENY],
        "decided": _time(status.decided_at),
        "accessStart": _time(status.activated_at),
        "accessEnd": _time(status.finished_at or (status.not_after if status.activated_at else None)),
        "grant": status.grant or "",
        "source": source,
    }


def report_rows(
    requests: Iterable[tuple[AccessRequest, str]],
    safe_of: Mapping[tuple[str, str], str],
    *,
    safe: str | None = None,
    account: str | None = None,
    user: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[dict[str, str]]:
    """Rows for (request, source) pairs, filtered by Safe, Account (`ns/name` or name), requester and
    period (by when the request was made), oldest first."""
    rows = []
    for request, source in requests:
        row = request_row(request, safe_of, source)
        made = request.status.created_at or (request.created if "creationTimestamp" in request.metadata else None)
        if safe and row["safe"] != safe:
            continue
        if account and account not in (row["account"], request.spec.account.name):
            continue
        if user and row["requester"] != user:
            continue
        if made and ((since and made < since) or (until and made >= until)):
            continue
        rows.append(row)
    return sorted(rows, key=lambda r: (r["requested"], r["namespace"], r["request"]))
