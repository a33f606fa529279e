"""Admission webhooks: gather the facts, let `identity.stamping` decide, answer. Every replica serves
them, leader or not, from its own watch-fed cache: no API call on a requester's or approver's write,
except the SubjectAccessReview a release by someone else, or a direct Grant, needs. They run on the
event loop (no hop to a thread) unless they ask the API server.

Each handler id is the URL path its webhook configuration entry calls (see webhook.configurations).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import kopf

from strongroom.api.accessrequest import AccessRequest
from strongroom.api.group import GROUP, VERSION
from strongroom.controllers.context import Context
from strongroom.identity.stamping import (
    Caller,
    Refusal,
    stamp_issuer,
    stamp_release,
    stamp_requester,
    stamp_review,
)
from strongroom.kube import authz
from strongroom.webhook.configurations import STAMP_ISSUER, STAMP_RELEASE, STAMP_REQUESTER, STAMP_REVIEW


def _answer(ctx: Context, webhook: str, decide: Callable[[], None]) -> None:
    """Run one admission decision, counting and timing it; a refusal is one info line, not an error."""
    started = time.monotonic()
    try:
        decide()
    except Refusal as refusal:
        ctx.metrics.webhook.labels(webhook, "refused").inc()
        ctx.log.info(f"Refused: {webhook}: {refusal.message}")
        raise kopf.AdmissionError(refusal.message, code=refusal.code) from None
    else:
        ctx.metrics.webhook.labels(webhook, "allowed").inc()
    finally:
        ctx.metrics.webhook_seconds.labels(webhook).observe(time.monotonic() - started)


def register(registry: kopf.OperatorRegistry, ctx: Context) -> None:
    key = ctx.identity.key

    @kopf.on.mutate(GROUP, VERSION, "accessrequests", id=STAMP_REQUESTER.id, operations=["CREATE"],
                    registry=registry)
    async def stamp_request_requester(spec: kopf.Spec, namespace: str, userinfo: dict[str, Any], patch: kopf.Patch,
                                **_: Any) -> None:
        def decide() -> None:
            patch.spec.update(stamp_requester(key, namespace, dict(spec), Caller.from_userinfo(userinfo),
                                              ctx.clock.now()))
        _answer(ctx, STAMP_REQUESTER.id, decide)

    @kopf.on.mutate(GROUP, VERSION, "accessrequests", id=STAMP_RELEASE.id, operations=["UPDATE"],
                    registry=registry)
    async def stamp_request_release(old: dict[str, Any], new: dict[str, Any], namespace: str, userinfo: dict[str, Any],
                              patch: kopf.Patch, **_: Any) -> None:
        caller = Caller.from_userinfo(userinfo)
        old_spec, new_spec = old.get("spec") or {}, new.get("spec") or {}
        if old_spec == new_spec:
            return  # metadata only (labels, annotations)

        def decide() -> None:
            stamped = stamp_release(
                key, str((old.get("metadata") or {}).get("uid", "")), old_spec, new_spec, caller,
                may_release=lambda: authz.may_release(ctx.kube, caller.user, userinfo.get("groups") or [], namespace),
                now=ctx.clock.now())
            patch.spec.update(stamped)
        await asyncio.to_thread(_answer, ctx, STAMP_RELEASE.id, decide)  # it may ask the API server

    @kopf.on.mutate(GROUP, VERSION, "accessrequests", id=STAMP_REVIEW.id, subresource="status",
                    operations=["UPDATE"], registry=registry)
    async def stamp_request_review(old: dict[str, Any], new: dict[str, Any], userinfo: dict[str, Any],
                                   patch: kopf.Patch, **_: Any) -> None:
        request = AccessRequest.from_object(old)
        ref = request.spec.account
        _, safe = ctx.cache.account_and_safe(ref.namespace, ref.name)

        def decide() -> None:
            patch.status["reviews"] = stamp_review(
                key, request, uid=request.uid, old_status=old.get("status"), new_status=new.get("status"),
                safe=safe, caller=Caller.from_userinfo(userinfo), now=ctx.clock.now(),
                decided=ctx.cache.grant_for(request) is not None)
        _answer(ctx, STAMP_REVIEW.id, decide)

    @kopf.on.mutate(GROUP, VERSION, "grants", id=STAMP_ISSUER.id, operations=["CREATE"], registry=registry)
    async def stamp_grant_issuer(spec: kopf.Spec, namespace: str, userinfo: dict[str, Any], patch: kopf.Patch,
                           **_: Any) -> None:
        caller = Caller.from_userinfo(userinfo)
        account_ref = dict(spec.get("account") or {})

        def may_grant() -> bool:
            _, safe = ctx.cache.account_and_safe(str(account_ref.get("namespace", "")),
                                                       str(account_ref.get("name", "")))
            return safe is not None and authz.may_grant(ctx.kube, caller.user, userinfo.get("groups") or [],
                                                        safe.namespace, safe.name)

        def decide() -> None:
            patch.spec.update(stamp_issuer(key, namespace, dict(spec), caller, may_grant=may_grant,
                                           now=ctx.clock.now()))
        await asyncio.to_thread(_answer, ctx, STAMP_ISSUER.id, decide)  # it asks the API server
