"""What must look again when an object changed: the one rule for the watch streams and for the
operator's own writes (whose watch events are skipped as already seen)."""

from __future__ import annotations

from strongroom.api.account import Account
from strongroom.api.common import Resource
from strongroom.api.grant import Grant
from strongroom.api.phases import is_terminal
from strongroom.api.safe import Safe
from strongroom.controllers.context import Context, key_of
from strongroom.controllers.manager import Key


def dependents(ctx: Context, obj: Resource, *, deleted: bool = False) -> list[Key]:
    """Keys other than `obj`'s own to reconcile after `obj` changed (or is gone)."""
    if isinstance(obj, Grant):
        return [("AccessRequest", obj.namespace, obj.spec.source.access_request)] if obj.spec.source.access_request \
            else []
    if isinstance(obj, Safe) and deleted:
        return [key_of(o) for a in ctx.cache.accounts_of_safe(obj) for o in governed(ctx, a)]
    if isinstance(obj, Account) and deleted:
        return [key_of(o) for o in governed(ctx, obj)]
    return []


def governed(ctx: Context, account: Account) -> list[Resource]:
    """The live grants and unfinished requests of an Account."""
    requests = [r for r in ctx.cache.requests_of_account(account.namespace, account.name)
                if not (r.status.history and is_terminal(r.status.phase))]
    return [*ctx.cache.grants_of_account(account.namespace, account.name, live=True), *requests]


def remember_written(ctx: Context, obj: Resource) -> None:
    """An object the operator just wrote: into the cache, and what depends on it looks again."""
    if ctx.cache.put(obj):
        for key in dependents(ctx, obj):
            ctx.queue.enqueue(key)



