"""Rotation in the cluster (the shell): the crash-safe steps on the Account's Secret, the provider
call in between, then status and an Event. Values go only into Secrets, never into status, Events
or logs."""

from __future__ import annotations

import base64
import logging
import os
import secrets
from datetime import UTC, datetime
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from strongroom.api.account import Account, RotationResult, RotationStatus
from strongroom.api.common import format_time
from strongroom.api.grant import Grant
from strongroom.api.group import GROUP, VERSION
from strongroom.controllers.context import OperatorContext
from strongroom.controllers.grant import CredentialUnreadable, management_target, material
from strongroom.kube import events
from strongroom.kube import reads as store
from strongroom.rotation import passwords
from strongroom.rotation.protocol import (
    PENDING_KEY,
    ROTATION_ANNOTATION,
    Action,
    backoff,
    may_attempt,
    next_scheduled,
    recover,
    rotation_reason,
)
from strongroom.rotation.providers import TargetUnavailable, provider_for

Logger = logging.Logger | logging.LoggerAdapter[Any]
CRASH_AT = "STRONGROOM_TEST_CRASH_AT"


def _crash_point(step: str) -> None:
    """Test-only: exit hard right after `step`, to prove every interruption ends consistent."""
    if os.environ.get(CRASH_AT) == step:
        os._exit(86)


def _b64(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


def _patch_secret(ctx: OperatorContext, account: Account, body: dict[str, Any]) -> None:
    client.CoreV1Api(ctx.api).patch_namespaced_secret(account.spec.secret_ref.name, account.namespace, body)


def _write_status(ctx: OperatorContext, account: Account, changes: dict[str, Any]) -> None:
    # Only status.rotation, which no other writer touches: a plain merge patch, no resourceVersion.
    current = (account.status.rotation.model_dump(mode="json", by_alias=True, exclude_none=True)
               if account.status.rotation else {})
    client.CustomObjectsApi(ctx.api).patch_namespaced_custom_object_status(
        GROUP, VERSION, account.namespace, "accounts", account.name, {"status": {"rotation": {**current, **changes}}},
        _content_type="application/merge-patch+json")


def _succeeded(ctx: OperatorContext, account: Account, logger: Logger, message: str) -> None:
    now = datetime.now(UTC)
    rotated = account.model_copy(update={"status": account.status.model_copy(update={
        "rotation": (account.status.rotation or RotationStatus()).model_copy(update={"last_rotated": now})})})
    upcoming = next_scheduled(rotated)
    _write_status(ctx, account, {
        "lastRotated": format_time(now), "lastAttempt": format_time(now), "lastResult": RotationResult.SUCCEEDED.value,
        "failures": 0, "message": message, "nextScheduled": format_time(upcoming) if upcoming else None,
    })
    events.record(ctx.api, account, "Rotated", message)
    logger.info(f"Rotated: {message}")


def _failed(ctx: OperatorContext, account: Account, logger: Logger, message: str) -> None:
    now = datetime.now(UTC)
    failures = (account.status.rotation.failures if account.status.rotation else 0) + 1
    retry = now + backoff(failures)
    text = f"{message}; the stored password is unchanged and still works; retrying at {format_time(retry)}"
    _write_status(ctx, account, {"lastAttempt": format_time(now), "lastResult": RotationResult.FAILED.value,
                                 "failures": failures, "message": text[:4096]})
    events.record(ctx.api, account, "RotationFailed", text, warning=True)
    logger.warning(f"RotationFailed: {text}")


def _commit(ctx: OperatorContext, account: Account, new: str) -> None:
    _patch_secret(ctx, account, {"metadata": {"annotations": {ROTATION_ANNOTATION: None}},
                                 "data": {account.spec.secret_ref.password_key: _b64(new), PENDING_KEY: None}})


def _roll_back(ctx: OperatorContext, account: Account) -> None:
    _patch_secret(ctx, account, {"metadata": {"annotations": {ROTATION_ANNOTATION: None}},
                                 "data": {PENDING_KEY: None}})


def finish_pending(ctx: OperatorContext, account: Account, found: dict[str, bytes], logger: Logger) -> bool:
    """Finish an interrupted rotation; True when the Secret holds no pending password any more."""
    rotation = account.spec.rotation
    old = found.get(account.spec.secret_ref.password_key, b"").decode()
    new = found[PENDING_KEY].decode()
    provider = provider_for(rotation.provider) if rotation else None
    action = recover(provider.which_works(management_target(ctx, account), old, new)) if provider else Action.ROLL_BACK
    if action is Action.COMMIT:
        _commit(ctx, account, new)
        _succeeded(ctx, account, logger, "an interrupted rotation was completed: the new password works on the target")
        return True
    if action is Action.ROLL_BACK:
        _roll_back(ctx, account)
        logger.info("RotationRolledBack: the target still accepts the stored password; the pending one was dropped")
        return True
    _failed(ctx, account, logger, "a rotation is pending and the target cannot tell which password works")
    return False


def rotate(ctx: OperatorContext, account: Account, reason: str, logger: Logger) -> None:
    """One rotation: record pending, set on the target, commit, report."""
    rotation = account.spec.rotation
    assert rotation is not None
    ref = account.spec.secret_ref
    found = material(ctx, account)
    old = found.get(ref.password_key, b"").decode()
    new = passwords.generate(rotation.password_policy)
    _patch_secret(ctx, account, {
        "metadata": {"annotations": {ROTATION_ANNOTATION: f"{secrets.token_hex(4)} {format_time(datetime.now(UTC))}"}},
        "data": {PENDING_KEY: _b64(new)}})
    _crash_point("pending-recorded")
    try:
        provider_for(rotation.provider).set_password(management_target(ctx, account), old, new)
    except TargetUnavailable as down:
        _roll_back_if_old_works(ctx, account, old, new)
        _failed(ctx, account, logger, f"rotation ({reason}) failed: {down}")
        return
    _crash_point("target-set")
    _commit(ctx, account, new)
    _crash_point("committed")
    _succeeded(ctx, account, logger, f"password rotated ({reason}) by the {rotation.provider.value} provider")


def _roll_back_if_old_works(ctx: OperatorContext, account: Account, old: str, new: str) -> None:
    # A failed change leaves pending in place unless the target positively still takes the old one.
    rotation = account.spec.rotation
    if rotation and recover(provider_for(rotation.provider).which_works(management_target(ctx, account), old, new)) \
            is Action.ROLL_BACK:
        _roll_back(ctx, account)


def account_grants(ctx: OperatorContext, account: Account) -> list[Grant]:
    return store.grants_of_account(ctx.api, account.namespace, account.name)


def reconcile(ctx: OperatorContext, account: Account, logger: Logger) -> None:
    """Finish an interrupted rotation, then rotate when one is due and the backoff allows."""
    now = datetime.now(UTC)
    try:
        found = material(ctx, account)
    except CredentialUnreadable:
        return  # the Account's Ready condition says so
    if PENDING_KEY in found:
        if not may_attempt(account, now) or not finish_pending(ctx, account, found, logger):
            return
        account = store.get(ctx.api, Account, account.namespace, account.name) or account
    reason = rotation_reason(account, account_grants(ctx, account), now)
    if reason and may_attempt(account, now):
        try:
            rotate(ctx, account, reason, logger)
        except ValueError as bad_policy:
            _failed(ctx, account, logger, f"rotation ({reason}) failed: {bad_policy}")
        except ApiException as exc:
            if exc.status not in (404, 409):
                raise
