"""The Safe controller: its status (Ready, or why not; counts of accounts, pending requests, active
grants), and, when its policy changed, a fresh look at everything it governs: pending requests are
decided again, live grants that lost their standing are revoked at once."""

from __future__ import annotations

from datetime import datetime

from strongroom.api.accessrequest import AccessRequest
from strongroom.api.safe import Safe
from strongroom.controllers.context import Context, key_of
from strongroom.policy.inventory import safe_status

KIND = "Safe"


def reconcile(ctx: Context, namespace: str, name: str) -> datetime | None:
    safe = ctx.cache.get(Safe, namespace, name)
    if safe is None:
        return None
    accounts = ctx.cache.accounts_of_safe(safe)
    requests: list[AccessRequest] = []
    grants = []
    for account in accounts:
        requests += ctx.cache.requests_of_account(account.namespace, account.name)
        grants += ctx.cache.grants_of_account(account.namespace, account.name, live=True)
    if safe.status.observed_generation != safe.generation:
        for dependent in (*requests, *grants, *accounts):
            ctx.queue.enqueue(key_of(dependent))
    ctx.status.observe(safe, safe_status(safe, accounts, requests, grants, ctx.clock.now()))
    return None
