"""Safes and Accounts: their status (Ready, counts, the holder), and revocation when a Safe changes:
a blocked Safe or a member removed ends the affected grants at once, not at the next timer."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import kopf
from kubernetes.client.exceptions import ApiException

from strongroom.api.accessrequest import AccessRequest
from strongroom.api.account import Account
from strongroom.api.group import GROUP, VERSION
from strongroom.api.phases import AccessRequestPhase
from strongroom.api.safe import Safe
from strongroom.controllers import grant as grants
from strongroom.controllers.context import OperatorContext
from strongroom.kube import reads as store
from strongroom.policy import inventory
from strongroom.policy.delivery import PASSWORD_TYPES
from strongroom.rotation import rotator as run


def _write_status(ctx: OperatorContext, obj: Safe | Account, status: dict[str, Any]) -> None:
    current = obj.status.model_dump(mode="json", by_alias=True, exclude_none=True)
    # A None in the merge patch removes the field, so it is "unchanged" when the field is already absent.
    if all(current.get(k) == v for k, v in status.items()):
        return  # nothing new: no write, no event loop
    try:
        store.patch_status(ctx.api, obj, status)
    except ApiException as exc:
        if exc.status != 409:
            raise


@kopf.on.event(GROUP, VERSION, "safes")
def on_safe_event(type: str, body: kopf.Body, memo: kopf.Memo, logger: logging.Logger, **_: Any) -> None:
    if type == "DELETED":
        return
    ctx: OperatorContext = memo.ctx
    safe = Safe.from_object(body)
    accounts, live, pending = store.together(
        lambda: store.accounts_of_safe(ctx.api, safe.namespace, safe.name),
        lambda: store.live_grants_in_vault(ctx.api, safe.namespace),
        lambda: store.list_all(ctx.api, AccessRequest, fields=store.field_selector(
            {"spec.account.namespace": safe.namespace, "status.phase": AccessRequestPhase.PENDING.value})),
    )
    mine = {a.name for a in accounts}
    for grant in live:
        if grant.spec.account.name in mine:
            try:
                grants.revoke_if_ineligible(ctx, grant, logger)
            except ApiException as exc:
                if exc.status != 409:
                    raise  # a conflict means its daemon moved it first; it checks again itself
    status = inventory.safe_status(safe, accounts, pending, live, datetime.now(UTC))
    _write_status(ctx, safe, status)


@kopf.timer(GROUP, VERSION, "safes", interval=30, idle=0, backoff=1)
def recheck_safe(body: kopf.Body, memo: kopf.Memo, logger: logging.Logger, **_: Any) -> None:
    on_safe_event(type="TIMER", body=body, memo=memo, logger=logger)


def _secret_problem(ctx: OperatorContext, account: Account) -> str | None:
    """Why the Account's credential could not be delivered now, or None."""
    try:
        found = grants.material(ctx, account)
    except grants.CredentialUnreadable as unreadable:
        return str(unreadable)
    ref = account.spec.secret_ref
    if ref.password_key not in found and account.spec.type in PASSWORD_TYPES:
        return f"secret {ref.name} has no key {ref.password_key}"
    return None


@kopf.timer(GROUP, VERSION, "accounts", interval=15, idle=0, backoff=1)
@kopf.on.event(GROUP, VERSION, "accounts")
def on_account(body: kopf.Body, memo: kopf.Memo, type: str = "TIMER", **_: Any) -> None:
    if type == "DELETED":
        return
    ctx: OperatorContext = memo.ctx
    account = Account.from_object(body)
    safe = store.get(ctx.api, Safe, account.namespace, account.spec.safe)
    live = store.grants_of_account(ctx.api, account.namespace, account.name, live=True)
    status = inventory.account_status(account, safe, _secret_problem(ctx, account), live, datetime.now(UTC))
    _write_status(ctx, account, status)


def _rotates(spec: kopf.Spec, **_: Any) -> bool:
    return bool(spec.get("rotation"))


@kopf.timer(GROUP, VERSION, "accounts", interval=1, idle=0, backoff=2, when=_rotates)
def keep_rotation(name: str, namespace: str, memo: kopf.Memo, logger: logging.Logger, **_: Any) -> None:
    """Finish interrupted rotations and rotate when due: on request, after a grant ended, on schedule."""
    ctx: OperatorContext = memo.ctx
    account = store.get(ctx.api, Account, namespace, name)
    if account is not None and account.spec.rotation is not None:
        run.reconcile(ctx, account, logger)
