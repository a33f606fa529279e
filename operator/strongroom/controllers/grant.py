"""The Grant controller: write the Secret (and the read access of the grant's subject) at notBefore,
withdraw it at notAfter or as soon as access ends early (release, revoke, a blocked Safe, a lost
membership), and keep the Grant's status. The answer of each reconcile is its next deadline.

The operator touches only what it made: it deletes the very Secret it delivered (by uid), and a
Secret of the same name that is not the Grant's is never adopted, changed or deleted. Withdrawing
comes before recording the end, so a crash in between only leaves the end to record again. An ended
Grant costs nothing: it is never looked at again.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kubernetes.client.exceptions import ApiException

from strongroom.api.accessrequest import AccessRequest, RejectionReason
from strongroom.api.account import Account, PasswordPolicy
from strongroom.api.common import format_time
from strongroom.api.grant import Grant
from strongroom.api.phases import AccessRequestPhase, GrantPhase, is_terminal
from strongroom.api.safe import Safe
from strongroom.controllers.context import Context, key_of
from strongroom.identity.signing import verify_issuer, verify_release
from strongroom.kube import authz, reads
from strongroom.kube.reads import CredentialUnreadable
from strongroom.kube.rest import core_path, group_path
from strongroom.policy.checkout import counts_grants
from strongroom.policy.decision import Decision
from strongroom.policy.delivery import (
    GRANT_UID_LABEL,
    PENDING_KEY,
    MaterialMissing,
    delivered_secret,
    read_binding,
    read_role,
)
from strongroom.policy.direct_grants import by_name_only, check_direct_grant
from strongroom.policy.request_decision import eligibility_lost
from strongroom.rotation import dynamic, passwords
from strongroom.rotation.protocol import delivery_held
from strongroom.rotation.providers.base import TargetUnavailable
from strongroom.rotation.target import management_target

KIND = "Grant"
RBAC = "rbac.authorization.k8s.io/v1"
_LIVE_REQUEST = (AccessRequestPhase.PENDING, AccessRequestPhase.APPROVED, AccessRequestPhase.ACTIVE)


@dataclass(frozen=True)
class Standing:
    """Whether a Grant may hold now: its Account and Safe when it may (and until when), else why not."""

    account: Account | None = None
    safe: Safe | None = None
    until: datetime | None = None
    reason: str = ""
    message: str = ""


def reconcile(ctx: Context, namespace: str, name: str) -> datetime | None:
    grant = ctx.cache.get(Grant, namespace, name)
    if grant is None or grant.metadata.get("deletionTimestamp") or is_terminal(grant.status.phase):
        return None
    now, spec = ctx.clock.now(), grant.spec
    if now >= spec.not_after:
        return _end(ctx, grant, GrantPhase.EXPIRED, "Expired", f"the window ended at {format_time(spec.not_after)}")
    standing = _standing(ctx, grant, now)
    if standing.reason:
        return _end(ctx, grant, GrantPhase.REVOKED, standing.reason, standing.message)
    released_by = _released_by(ctx, grant)
    if released_by is not None:
        return _end(ctx, grant, GrantPhase.RELEASED, "Released", f"released by {released_by}", actor=released_by)
    if now < spec.not_before:
        if not grant.status.history:
            ctx.status.transition(grant, phase=GrantPhase.SCHEDULED, event="Scheduled",
                                  message=f"access for {spec.subject.user} from {format_time(spec.not_before)} "
                                  f"until {format_time(spec.not_after)}")
        return spec.not_before
    if not grant.status.secret_uid:
        assert standing.account is not None and standing.safe is not None
        delivered = _deliver(ctx, grant, standing.account, standing.safe)
        if delivered is Delivery.ENDED:
            return None
        if delivered is Delivery.HELD:
            if not grant.status.history:
                ctx.status.transition(grant, phase=GrantPhase.SCHEDULED, event="Scheduled",
                                      message=f"access for {spec.subject.user} waits for account "
                                      f"{standing.account.namespace}/{standing.account.name} to be rotated")
            return spec.not_after  # the rotation brings a look sooner; the end of the window, at the latest
    return min(spec.not_after, standing.until) if standing.until else spec.not_after


# -- may it hold? ------------------------------------------------------------------------------------


def _standing(ctx: Context, grant: Grant, now: datetime) -> Standing:
    verdict = verify_issuer(ctx.identity.key, grant.namespace, grant.spec, grant.created)
    if not verdict.ok:
        return Standing(reason="UnverifiedIssuer", message=f"the grant's issuer is not verified: {verdict.message}")
    source = grant.spec.source
    if source.access_request:
        problem = _request_problem(ctx, grant)
        if problem:
            return Standing(reason="RequestNotApproved", message=problem)
    account, safe = ctx.cache.account_and_safe(grant.spec.account.namespace, grant.spec.account.name)
    if account is None or safe is None:
        ref = grant.spec.account
        return Standing(reason="AccountMissing", message=f"account {ref.namespace}/{ref.name} or its safe is gone")
    labels = ctx.cache.namespace_labels(grant.namespace) or {}
    try:
        if source.direct and not grant.status.secret_uid:
            decision = _direct_grant_allowed(ctx, grant, safe, labels, now)
        else:
            judged = by_name_only(grant) if source.direct else grant
            decision = eligibility_lost(safe, judged, labels, now,
                                        require_membership=not (source.direct and
                                                                safe.spec.policy.allow_standing_grants))
    except ValueError as error:
        return Standing(reason="InvalidPolicy", message=f"the Safe {safe.name} cannot be evaluated: {error}")
    if not decision.allowed:
        return Standing(reason=str(decision.reason), message=decision.message)
    return Standing(account, safe, until=decision.until)


def _request_problem(ctx: Context, grant: Grant) -> str:
    """Why a Grant issued for a request may not hold ("" when it may)."""
    source = grant.spec.source
    if grant.spec.issued_by != ctx.identity.user:
        return "only the operator issues grants for requests"
    request = ctx.cache.get(AccessRequest, grant.namespace, source.access_request or "")
    if request is None or request.uid != source.uid:
        return f"access request {source.access_request} (uid {source.uid}) does not exist"
    if request.status.history and request.status.phase not in _LIVE_REQUEST:
        return f"access request {request.name} is {request.status.phase.value}"
    return ""


def _direct_grant_allowed(ctx: Context, grant: Grant, safe: Safe, labels: dict[str, str], now: datetime
                          ) -> Decision:
    """A direct Grant's issuer holds `grant` on the Safe, and the Safe's limits allow it (asked before
    it is delivered; afterwards only eligibility is kept, as for requests)."""
    spec = grant.spec
    if not authz.may_grant(ctx.kube, spec.issued_by or "", spec.issued_by_groups, safe.namespace, safe.name):
        return Decision.deny(RejectionReason.NOT_AUTHORIZED,
                             f"{spec.issued_by} may not grant access to safe {safe.name} in {safe.namespace} (it "
                             "takes the `grant` verb on that Safe)")
    if not counts_grants(safe.spec.policy):
        return check_direct_grant(safe, grant, labels, now, account_grants=[], user_grants=[])
    with ctx.safe_locks.lock((safe.namespace, safe.name)):
        ref = spec.account
        of_account, of_user = ctx.together(
            lambda: reads.live_grants_of_account(ctx.kube, ref.namespace, ref.name),
            lambda: reads.live_grants_of_user(ctx.kube, spec.subject.user))
        in_safe = {(a.namespace, a.name) for a in ctx.cache.accounts_of_safe(safe)}
        return check_direct_grant(safe, grant, labels, now, account_grants=of_account,
                                  user_grants=[g for g in of_user if g.spec.account.key in in_safe])


def _released_by(ctx: Context, grant: Grant) -> str | None:
    """Who released the request this Grant was issued for, once that release is sealed; else None."""
    if not grant.spec.source.access_request:
        return None
    request = ctx.cache.get(AccessRequest, grant.namespace, grant.spec.source.access_request)
    if request is None or request.uid != grant.spec.source.uid or not request.spec.release:
        return None
    return request.spec.released_by if verify_release(ctx.identity.key, request.uid, request.spec).ok else None


# -- delivering ------------------------------------------------------------------------------------


class Delivery(enum.Enum):
    DELIVERED = "delivered"
    ENDED = "ended"  # it could not be delivered, and was ended
    HELD = "held"  # it waits for the Account to be rotated first


def _deliver(ctx: Context, grant: Grant, account: Account, safe: Safe) -> Delivery:
    """Write the Secret and its read access, then record Active."""
    try:
        material = reads.material(ctx.kube, account)
        if delivery_held(account, ctx.cache.grants_of_account(account.namespace, account.name),
                         PENDING_KEY in material):
            return Delivery.HELD  # the Account controller rotates, then looks at this Grant again
        if dynamic.is_dynamic(account):
            policy = account.spec.rotation.password_policy if account.spec.rotation else PasswordPolicy()
            password = passwords.generate(policy)
            as_role = account.model_copy(update={"spec": account.spec.model_copy(
                update={"username": dynamic.role_name(grant)})})
            body = delivered_secret(grant, as_role, {account.spec.secret_ref.password_key: password.encode()},
                                    safe.name, grant.uid)
        else:
            password = ""
            body = delivered_secret(grant, account, material, safe.name, grant.uid)
    except (MaterialMissing, CredentialUnreadable, ValueError) as missing:
        if getattr(missing, "transient", False):
            raise  # a refusal may be an API server still starting: tried again, nothing decided on it
        _end(ctx, grant, GrantPhase.REVOKED, "CredentialUnavailable", str(missing))
        return Delivery.ENDED
    written = _create_secret(ctx, grant, body)
    if written is None:
        return Delivery.ENDED
    secret, recovered_at = written
    ctx.together(
        lambda: ctx.kube.create(group_path(RBAC, "roles", grant.namespace), read_role(secret)),
        lambda: ctx.kube.create(group_path(RBAC, "rolebindings", grant.namespace),
                                read_binding(secret, grant.spec.subject.user)))
    if dynamic.is_dynamic(account):
        dynamic.create_role(management_target(ctx.kube, account), grant, dynamic.role_name(grant), password)
    written_at = recovered_at or secret["metadata"]["creationTimestamp"]
    ctx.status.transition(grant, phase=GrantPhase.ACTIVE, event="Activated",
                          message=f"secret {grant.spec.secret_name} written for {grant.spec.subject.user} until "
                          f"{format_time(grant.spec.not_after)}" + (
                              f" (first written at {recovered_at}, before a restart)" if recovered_at else ""),
                          changes={"secretUid": secret["metadata"]["uid"], "secretWrittenAt": written_at})
    _observe_latency(ctx, grant)
    _follow_up(ctx, grant)
    return Delivery.DELIVERED


def _create_secret(ctx: Context, grant: Grant, body: dict[str, Any]) -> tuple[dict[str, Any], str | None] | None:
    """Create the Secret: (the stored Secret, when an earlier one of this Grant was first written, if it
    was replaced), or None when the name belongs to someone else (the Grant is then ended)."""
    path = core_path("secrets", grant.namespace)
    try:
        return ctx.kube.create(path, body), None
    except ApiException as exc:
        if exc.status != 409:
            raise
    # Ours from before a restart (written, not yet recorded), or somebody else's: only what carries this
    # Grant's uid is deleted, and then the Secret is written afresh.
    replaced = ctx.kube.delete_collection(path, labels=f"{GRANT_UID_LABEL}={grant.uid}")
    if not replaced:
        _end(ctx, grant, GrantPhase.REVOKED, "SecretNameTaken",
             f"a Secret named {grant.spec.secret_name} already exists in {grant.namespace} and is not this grant's; "
             "it is left as it is")
        return None
    first = min(str(s["metadata"].get("creationTimestamp", "")) for s in replaced)
    return ctx.kube.create(path, body), first or None


def _observe_latency(ctx: Context, grant: Grant) -> None:
    request = ctx.cache.get(AccessRequest, grant.namespace, grant.spec.source.access_request or "")
    approvals = [r.time for r in (request.status.reviews if request else ()) if r.user in grant.spec.approved_by]
    if approvals:
        ctx.metrics.approval_to_secret.observe(max(0.0, (ctx.clock.now() - max(approvals)).total_seconds()))


# -- ending ----------------------------------------------------------------------------------------


def _end(ctx: Context, grant: Grant, phase: GrantPhase, reason: str, message: str, *,
         actor: str | None = None) -> None:
    """Withdraw what was delivered, then record the end. Idempotent: a crash in between repeats it."""
    now = ctx.clock.now()
    path = core_path("secrets", grant.namespace, grant.spec.secret_name)
    deleted = False
    if grant.status.secret_uid:
        try:
            deleted = ctx.kube.delete(path, uid=grant.status.secret_uid)
        except ApiException as exc:
            if exc.status != 409:  # 409: the name now belongs to another Secret; ours is gone
                raise
    elif now >= grant.spec.not_before:
        # Delivered just before a restart and not recorded? Only what carries this Grant's uid goes.
        deleted = bool(ctx.kube.delete_collection(core_path("secrets", grant.namespace),
                                                  labels=f"{GRANT_UID_LABEL}={grant.uid}"))
    _drop_dynamic_role(ctx, grant)
    if phase is GrantPhase.EXPIRED and deleted:
        ctx.metrics.deletion_lateness.observe(max(0.0, (now - grant.spec.not_after).total_seconds()))
    changes: dict[str, Any] = {"endedAt": format_time(now), "endedReason": reason}
    if deleted or grant.status.secret_uid:
        changes["secretDeletedAt"] = format_time(now)
    ctx.status.transition(grant, phase=phase, event=phase.value, message=message, changes=changes, actor=actor,
                          warning=phase is GrantPhase.REVOKED)
    _follow_up(ctx, grant)
    account = ctx.cache.get(Account, grant.spec.account.namespace, grant.spec.account.name)
    if account is not None and account.spec.rotation is not None:
        ctx.queue.enqueue(key_of(account))  # a rotation on release may be due now


def _drop_dynamic_role(ctx: Context, grant: Grant) -> None:
    account = ctx.cache.get(Account, grant.spec.account.namespace, grant.spec.account.name)
    if account is None or not dynamic.is_dynamic(account) or not grant.status.secret_uid:
        return
    try:
        dynamic.drop_role(management_target(ctx.kube, account), dynamic.role_name(grant))
    except (TargetUnavailable, CredentialUnreadable) as down:
        # The role still expires at notAfter (VALID UNTIL); say so rather than fail the end.
        ctx.log.warning(f"RoleNotDropped: Grant {grant.namespace}/{grant.name}: {down}; it cannot log in after "
                        f"{format_time(grant.spec.not_after)}")


def _follow_up(ctx: Context, grant: Grant) -> None:
    """The request this Grant was issued for follows its phase; the Safe's counts change."""
    if grant.spec.source.access_request:
        ctx.queue.enqueue(("AccessRequest", grant.namespace, grant.spec.source.access_request))
    account = ctx.cache.get(Account, grant.spec.account.namespace, grant.spec.account.name)
    if account is not None:
        ctx.queue.enqueue_after(("Safe", account.namespace, account.spec.safe), ctx.settings.status_delay)
        ctx.queue.enqueue_after(key_of(account), ctx.settings.status_delay)
