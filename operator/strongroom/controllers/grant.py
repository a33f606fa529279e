"""The Grant lifecycle in the cluster: write the Secret at notBefore, delete it at notAfter or when
access ends early, and keep the owning AccessRequest in step. Every write is conditional on the
resourceVersion read, so two writers (the daemon, a release, a revoke) never both win.
"""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from strongroom.api.accessrequest import AccessRequest
from strongroom.api.account import Account, PasswordPolicy
from strongroom.api.common import format_time
from strongroom.api.grant import Grant
from strongroom.api.phases import AccessRequestPhase, GrantPhase, is_terminal
from strongroom.api.safe import Safe
from strongroom.controllers.context import OperatorContext
from strongroom.identity.signing import verify_issuer
from strongroom.kube import reads as store
from strongroom.kube.status import transition
from strongroom.policy.delivery import MaterialMissing, delivered_secret
from strongroom.policy.request_decision import eligibility_lost
from strongroom.rotation import dynamic, passwords
from strongroom.rotation.protocol import PENDING_KEY, delivery_held
from strongroom.rotation.providers.base import Target, TargetUnavailable

Logger = logging.Logger | logging.LoggerAdapter[Any]


class CredentialUnreadable(Exception):
    """The Account's Secret is missing or the operator may not read it; the message says which."""


def material(ctx: OperatorContext, account: Account) -> dict[str, bytes]:
    """The vaulted credential, read with the operator's vault access in the Account's namespace."""
    ref = account.spec.secret_ref
    try:
        secret = client.CoreV1Api(ctx.api).read_namespaced_secret(ref.name, account.namespace)
    except ApiException as exc:
        if exc.status == 404:
            raise CredentialUnreadable(f"secret {ref.name} of account {account.name} does not exist") from None
        if exc.status == 403:
            raise CredentialUnreadable(
                f"the operator may not read secrets in namespace {account.namespace}; bind the ClusterRole "
                "strongroom-vault-access there") from None
        raise
    return {key: base64.b64decode(value) for key, value in (secret.data or {}).items()}


def management_target(ctx: OperatorContext, account: Account) -> Target:
    """The Account with its management password (read from the Secret spec.management names), if any."""
    management = account.spec.management
    if management is None:
        return Target(account)
    found = material(ctx, account.model_copy(update={"spec": account.spec.model_copy(
        update={"secret_ref": management.secret_ref})}))
    password = found.get(management.secret_ref.password_key)
    return Target(account, password.decode() if password is not None else None)


def write_dynamic_secret(ctx: OperatorContext, grant: Grant, account: Account, safe_name: str) -> None:
    """Deliver a per-grant role: an existing role proves its Secret was written; otherwise start over."""
    target = management_target(ctx, account)
    role = dynamic.role_name(grant)
    if dynamic.role_exists(target, role):
        return
    delete_secret(ctx, grant)
    policy = account.spec.rotation.password_policy if account.spec.rotation else PasswordPolicy()
    password = passwords.generate(policy)
    as_role = account.model_copy(update={"spec": account.spec.model_copy(update={"username": role})})
    body = delivered_secret(grant, as_role, {account.spec.secret_ref.password_key: password.encode()}, safe_name,
                            grant.uid)
    client.CoreV1Api(ctx.api).create_namespaced_secret(grant.namespace, body)
    dynamic.create_role(target, grant, role, password)


def withdraw(ctx: OperatorContext, grant: Grant, logger: Logger) -> None:
    """Delete the delivered Secret and, for a dynamic Account, drop the grant's role on the server."""
    delete_secret(ctx, grant)
    account = store.get(ctx.api, Account, grant.spec.account.namespace, grant.spec.account.name)
    if account is None or not dynamic.is_dynamic(account):
        return
    try:
        dynamic.drop_role(management_target(ctx, account), dynamic.role_name(grant))
    except (TargetUnavailable, CredentialUnreadable) as down:
        # The role still expires at notAfter (VALID UNTIL); say so rather than fail the end.
        logger.warning(f"RoleNotDropped: {down}; it cannot log in after {format_time(grant.spec.not_after)}")


def write_secret(ctx: OperatorContext, grant: Grant, account: Account, safe_name: str) -> None:
    body = delivered_secret(grant, account, material(ctx, account), safe_name, grant.uid)
    try:
        client.CoreV1Api(ctx.api).create_namespaced_secret(grant.namespace, body)
    except ApiException as exc:
        if exc.status != 409:  # already there: written before a restart, nothing to do twice
            raise


def delete_secret(ctx: OperatorContext, grant: Grant) -> None:
    try:
        client.CoreV1Api(ctx.api).delete_namespaced_secret(grant.spec.secret_name, grant.namespace)
    except ApiException as exc:
        if exc.status != 404:
            raise


@dataclass(frozen=True)
class Standing:
    """Whether a Grant may be active now: its Account and Safe when it may, else why not."""

    account: Account | None = None
    safe: Safe | None = None
    reason: str = ""
    message: str = ""


def standing(ctx: OperatorContext, grant: Grant, now: datetime) -> Standing:
    verdict = verify_issuer(ctx.key, grant.namespace, grant.spec, grant.created)
    if not verdict.ok:
        return Standing(reason="UnverifiedIssuer", message=f"the grant's issuer is not verified: {verdict.message}")
    source = grant.spec.source.access_request
    if source:
        request = store.get(ctx.api, AccessRequest, grant.namespace, source)
        if request is None or request.status.phase not in (AccessRequestPhase.APPROVED, AccessRequestPhase.ACTIVE):
            return Standing(reason="RequestNotApproved", message=f"access request {source} is not approved")
    account, safe = store.account_and_safe(ctx.api, grant.spec.account.namespace, grant.spec.account.name)
    if account is None or safe is None:
        ref = grant.spec.account
        return Standing(reason="AccountMissing", message=f"account {ref.namespace}/{ref.name} or its safe is gone")
    lost = eligibility_lost(safe, grant, store.namespace_labels(ctx.api, grant.namespace), now)
    if not lost.allowed:
        return Standing(reason=str(lost.reason), message=lost.message)
    return Standing(account, safe)


TARGET_RETRY = 2.0  # seconds before trying a database that did not answer again
ROTATION_WAIT = 0.5  # seconds between looks while the Account's password is being rotated


def rotation_hold(ctx: OperatorContext, account: Account) -> bool:
    """Whether delivery waits for a rotation of `account` (pending, or owed to a grant that ended)."""
    if account.spec.rotation is None:
        return False
    mine = store.grants_of_account(ctx.api, account.namespace, account.name)
    return delivery_held(account, mine, PENDING_KEY in material(ctx, account))


def end(ctx: OperatorContext, grant: Grant, phase: GrantPhase, reason: str, message: str, *, logger: Logger,
        actor: str | None = None) -> None:
    """Record the end, then delete the Secret. In this order, a writer that raced us and created the
    Secret from a stale read finds the Grant ended when it looks again (see `step`), or we delete
    after it wrote. A Grant already ended stays as it is."""
    if is_terminal(grant.status.phase):
        return
    now = datetime.now(UTC)
    changes = {
        "phase": phase.value, "endedAt": format_time(now), "endedReason": reason,
        "secretDeletedAt": format_time(now),
    }
    written = transition(ctx, grant, logger, changes=changes, event=phase.value, message=message, actor=actor,
                         warning=phase is GrantPhase.REVOKED)
    withdraw(ctx, grant, logger)
    follow(ctx, Grant.from_object(written), logger)


def revoke_if_ineligible(ctx: OperatorContext, grant: Grant, logger: Logger) -> None:
    """End a live Grant that may no longer hold (its Safe blocked, its subject no longer a member)."""
    if is_terminal(grant.status.phase):
        return
    found = standing(ctx, grant, datetime.now(UTC))
    if found.reason:
        end(ctx, grant, GrantPhase.REVOKED, found.reason, found.message, logger=logger)


def step(ctx: OperatorContext, grant: Grant, logger: Logger, known: Standing | None = None) -> float | None:
    """Do what is due now; return the seconds until the next deadline, or None when the Grant is over.
    `known`: the Grant's standing, when the caller has just read it (the handler that issued the Grant)."""
    now = datetime.now(UTC)
    if is_terminal(grant.status.phase):
        withdraw(ctx, grant, logger)  # an operator stopped between recording the end and deleting
        return None
    if now >= grant.spec.not_after:
        end(ctx, grant, GrantPhase.EXPIRED, "Expired", f"the window ended at {format_time(grant.spec.not_after)}",
            logger=logger)
        return None
    if now < grant.spec.not_before:
        return (grant.spec.not_before - now).total_seconds()
    found = known or standing(ctx, grant, now)
    if found.account is None or found.safe is None:
        end(ctx, grant, GrantPhase.REVOKED, found.reason, found.message, logger=logger)
        return None
    try:
        if rotation_hold(ctx, found.account):
            return ROTATION_WAIT
        if dynamic.is_dynamic(found.account):
            write_dynamic_secret(ctx, grant, found.account, found.safe.name)
        else:
            write_secret(ctx, grant, found.account, found.safe.name)
    except TargetUnavailable as down:
        logger.warning(f"TargetUnavailable: {down}; retrying")
        return TARGET_RETRY
    except (MaterialMissing, CredentialUnreadable) as missing:
        end(ctx, grant, GrantPhase.REVOKED, "CredentialUnavailable", str(missing), logger=logger)
        return None
    fresh = store.get(ctx.api, Grant, grant.namespace, grant.name)
    if fresh is None or is_terminal(fresh.status.phase):  # ended while we wrote: never leave it behind
        withdraw(ctx, grant, logger)
        return None
    if fresh.status.phase is GrantPhase.SCHEDULED:
        written = transition(
            ctx, fresh, logger,  # as read now: kopf's finalizer may have changed it since `grant` was read
            changes={"phase": GrantPhase.ACTIVE.value, "secretWrittenAt": format_time(datetime.now(UTC))},
            event="Activated",
            message=f"secret {grant.spec.secret_name} written for {grant.spec.subject.user} until "
            f"{format_time(grant.spec.not_after)}",
        )
        follow(ctx, Grant.from_object(written), logger)
    return (grant.spec.not_after - datetime.now(UTC)).total_seconds()


def step_named(ctx: OperatorContext, namespace: str, name: str, logger: Logger, *, wait: bool = True,
               ) -> float | None:
    """`step` the named Grant under its lock (its daemon, its timer and the request handler that issued
    it never deliver at once); without `wait`, return at once when another step holds the lock."""
    lock = ctx.grant_locks.lock((namespace, name))
    if not lock.acquire(blocking=wait):
        return 0.0
    try:
        grant = store.get(ctx.api, Grant, namespace, name)
        if grant is None or grant.metadata.get("deletionTimestamp"):
            return None
        return step(ctx, grant, logger)
    except ApiException as exc:
        if exc.status in (409, 422):  # somebody else moved it first; look again right away
            return 0.05
        raise
    finally:
        lock.release()


_FOLLOWS = {
    GrantPhase.ACTIVE: AccessRequestPhase.ACTIVE,
    GrantPhase.EXPIRED: AccessRequestPhase.EXPIRED,
    GrantPhase.RELEASED: AccessRequestPhase.RELEASED,
    GrantPhase.REVOKED: AccessRequestPhase.REVOKED,
}


def follow(ctx: OperatorContext, grant: Grant, logger: Logger) -> None:
    """Bring the AccessRequest that owns `grant` to the matching phase."""
    name = grant.spec.source.access_request
    target = _FOLLOWS.get(grant.status.phase)
    if not name or target is None:
        return
    request = store.get(ctx.api, AccessRequest, grant.namespace, name)
    if request is None or request.status.phase == target or is_terminal(request.status.phase):
        return
    now = format_time(datetime.now(UTC))
    changes: dict[str, Any] = {"phase": target.value}
    changes["activatedAt" if target is AccessRequestPhase.ACTIVE else "finishedAt"] = now
    message = (
        f"access active until {format_time(grant.spec.not_after)}" if target is AccessRequestPhase.ACTIVE
        else f"access ended: {grant.status.ended_reason or target.value}"
    )
    transition(ctx, request, logger, changes=changes, event=target.value, message=message)
