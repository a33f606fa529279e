"""Admission webhooks (kopf handlers): gather the facts, let `identity.admission` decide, answer.

Each handler id is the URL path its webhook configuration entry calls (see `strongroom.webhook.configurations`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import kopf
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from strongroom.api.accessrequest import AccessRequest
from strongroom.api.account import Account
from strongroom.api.group import GROUP, VERSION
from strongroom.api.safe import Safe
from strongroom.controllers.context import OperatorContext
from strongroom.identity.stamping import (
    Caller,
    Refusal,
    check_spec_update,
    stamp_issuer,
    stamp_requester,
    stamp_review,
)
from strongroom.kube import authz
from strongroom.webhook import configurations as webhooks


def _refuse(refusal: Refusal) -> kopf.AdmissionError:
    return kopf.AdmissionError(refusal.message, code=refusal.code)


def _read(api: client.ApiClient, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
    try:
        return client.CustomObjectsApi(api).get_namespaced_custom_object(GROUP, VERSION, namespace, plural, name)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise


def safe_of(api: client.ApiClient, request: AccessRequest) -> Safe | None:
    """The Safe governing the requested Account, or None when the Account or Safe is missing."""
    ref = request.spec.account
    account = _read(api, "accounts", ref.namespace, ref.name)
    if account is None:
        return None
    safe = _read(api, "safes", ref.namespace, Account.from_object(account).spec.safe)
    return None if safe is None else Safe.from_object(safe)


@kopf.on.mutate(GROUP, VERSION, "accessrequests", id=webhooks.STAMP_REQUESTER.id, operations=["CREATE"])
def stamp_request_requester(
    spec: kopf.Spec, namespace: str, userinfo: dict[str, Any], patch: kopf.Patch, memo: kopf.Memo, **_: Any
) -> None:
    ctx: OperatorContext = memo.ctx
    try:
        stamped = stamp_requester(ctx.key, namespace, dict(spec), Caller.from_userinfo(userinfo), datetime.now(UTC))
    except Refusal as refusal:
        raise _refuse(refusal) from None
    patch.spec.update(stamped)


@kopf.on.validate(GROUP, VERSION, "accessrequests", id=webhooks.CHECK_REQUEST_UPDATE.id, operations=["UPDATE"])
def check_request_update(
    old: dict[str, Any], new: dict[str, Any], namespace: str, userinfo: dict[str, Any], memo: kopf.Memo, **_: Any
) -> None:
    ctx: OperatorContext = memo.ctx
    caller = Caller.from_userinfo(userinfo)
    old_spec, new_spec = old.get("spec") or {}, new.get("spec") or {}
    if old_spec == new_spec:
        return  # metadata only (finalizers, annotations)
    releasing = bool(new_spec.get("release")) and not old_spec.get("release")
    admin = releasing and authz.is_admin(ctx.api, caller.user, userinfo.get("groups") or [], namespace)
    try:
        check_spec_update(old_spec, new_spec, caller, admin)
    except Refusal as refusal:
        raise _refuse(refusal) from None


@kopf.on.mutate(
    GROUP, VERSION, "accessrequests", id=webhooks.STAMP_REVIEW.id, subresource="status", operations=["UPDATE"]
)
def stamp_request_review(
    old: dict[str, Any], new: dict[str, Any], userinfo: dict[str, Any], patch: kopf.Patch, memo: kopf.Memo, **_: Any
) -> None:
    ctx: OperatorContext = memo.ctx
    caller = Caller.from_userinfo(userinfo)
    if caller.user == ctx.user:
        return  # the operator's own status writes; CEL keeps reviews append-only even for it
    request = AccessRequest.from_object(old)
    try:
        reviews = stamp_review(
            ctx.key, request, uid=request.uid, old_status=old.get("status"), new_status=new.get("status"),
            safe=safe_of(ctx.api, request), caller=caller, now=datetime.now(UTC),
        )
    except Refusal as refusal:
        raise _refuse(refusal) from None
    patch.status["reviews"] = reviews


@kopf.on.mutate(GROUP, VERSION, "grants", id=webhooks.STAMP_ISSUER.id, operations=["CREATE"])
def stamp_grant_issuer(
    spec: kopf.Spec, namespace: str, userinfo: dict[str, Any], patch: kopf.Patch, memo: kopf.Memo, **_: Any
) -> None:
    ctx: OperatorContext = memo.ctx
    caller = Caller.from_userinfo(userinfo)
    admin = caller.user != ctx.user and authz.is_admin(ctx.api, caller.user, userinfo.get("groups") or [], namespace)
    try:
        stamped = stamp_issuer(
            ctx.key, namespace, dict(spec), caller, operator_user=ctx.user, caller_is_admin=admin, now=datetime.now(UTC)
        )
    except Refusal as refusal:
        raise _refuse(refusal) from None
    patch.spec.update(stamped)


@kopf.on.validate(GROUP, VERSION, "grants", id=webhooks.CHECK_GRANT_STATUS.id, subresource="status",
                  operations=["UPDATE"])
def check_grant_status(userinfo: dict[str, Any], memo: kopf.Memo, **_: Any) -> None:
    ctx: OperatorContext = memo.ctx
    if userinfo.get("username") != ctx.user:
        raise kopf.AdmissionError(
            f"{userinfo.get('username')} may not change a Grant's status; only the operator does", code=403
        )
