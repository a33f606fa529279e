"""The watch streams: every event updates the cache and queues what must look again. Nothing is
decided here, and no API call is made, so the streams keep up however many objects there are."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import kopf
from pydantic import ValidationError

from strongroom.api.accessrequest import AccessRequest
from strongroom.api.account import Account
from strongroom.api.common import Resource
from strongroom.api.fence import LeaderFence
from strongroom.api.grant import Grant
from strongroom.api.group import GROUP, VERSION
from strongroom.api.safe import Safe
from strongroom.controllers.context import Context, key_of
from strongroom.controllers.dependents import dependents
from strongroom.controllers.manager import Key
from strongroom.identity.signing import Seal, binds, nonce_of

KINDS: tuple[type[Resource], ...] = (Safe, Account, AccessRequest, Grant)


def register(registry: kopf.OperatorRegistry, ctx: Context, on_fence: Callable[[str], None] | None = None) -> None:
    """`on_fence` hears who the LeaderFence names, whenever that changes (the leader keeps it naming itself)."""
    for kind in KINDS:
        kopf.on.event(GROUP, VERSION, kind.crd.plural, registry=registry, id=f"watch-{kind.crd.plural}")(
            _watcher(ctx, kind))
    kopf.on.event("", "v1", "namespaces", registry=registry, id="watch-namespaces")(_namespaces(ctx))
    if on_fence is not None:
        @kopf.on.event(GROUP, VERSION, LeaderFence.crd.plural, registry=registry, id="watch-fence")
        async def fence(type: str | None, body: kopf.Body, **_: Any) -> None:
            if type != "DELETED" and (body.get("metadata") or {}).get("namespace") == ctx.settings.namespace:
                on_fence(str((body.get("spec") or {}).get("holder", "")))


def _watcher(ctx: Context, kind: type[Resource]) -> Any:
    unreadable: set[tuple[str, str]] = set()

    async def watch(type: str | None, body: kopf.Body, **_: Any) -> None:
        meta = body.get("metadata") or {}
        namespace, name = str(meta.get("namespace", "")), str(meta.get("name", ""))
        if type == "DELETED":
            old = ctx.cache.remove(kind, namespace, name)
            if old is not None:
                _queue(ctx, dependents(ctx, old, deleted=True))
            return
        if ctx.cache.has_version(kind, namespace, name, str(meta.get("resourceVersion", ""))):
            return  # seen already (the listing at start, or the answer to our own write)
        try:
            obj = kind.from_object(body)
        except ValidationError as invalid:  # stored under another schema: say so once, skip it
            if (namespace, name) not in unreadable:
                unreadable.add((namespace, name))
                ctx.log.warning(f"Unreadable: {kind.__name__} {namespace}/{name}: {invalid.error_count()} field(s) "
                                f"do not match this operator's API, first: {invalid.errors()[0]['loc']}")
            return
        if ctx.cache.put(obj):
            _remember_seal(ctx, obj)
            _queue(ctx, [key_of(obj), *dependents(ctx, obj)], bulk=type is None)

    return watch


def _remember_seal(ctx: Context, obj: Resource) -> None:
    """A request's honoured seal goes into the ledger as it is seen (on every replica)."""
    if not isinstance(obj, AccessRequest) or not obj.status.requester_binding:
        return
    seal, nonce = Seal.parse(obj.spec.requester_signature), nonce_of(obj.spec)
    if seal is not None and nonce and binds(ctx.identity.key, obj.uid, obj.spec, obj.status.requester_binding):
        ctx.ledger.claim(nonce, obj.uid, seal.stamped_at)


def _queue(ctx: Context, keys: list[Key], bulk: bool = False) -> None:
    for key in keys:
        ctx.queue.enqueue(key, bulk=bulk)


def _namespaces(ctx: Context) -> Any:
    async def watch(type: str | None, body: kopf.Body, **_: Any) -> None:
        meta = body.get("metadata") or {}
        name = str(meta.get("name", ""))
        labels = None if type == "DELETED" else dict(meta.get("labels") or {})
        if ctx.cache.put_namespace(name, labels) and type is not None:
            # Labels decide where Safes deliver: what lives in the namespace looks again.
            _queue(ctx, [key_of(o) for o in ctx.cache.in_namespace(name)
                         if isinstance(o, AccessRequest | Grant)])

    return watch



