"""The AccessRequest lifecycle in the cluster: gather the facts, let `policy.request_decision` decide,
write the outcome; issue the Grant on approval; release; retention. Idempotent: reconciling twice
writes nothing new, so it can run on every watch event and on a timer.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from strongroom.api.accessrequest import AccessRequest
from strongroom.api.account import Account
from strongroom.api.common import Condition, format_time, set_condition
from strongroom.api.grant import Grant, GrantSpec
from strongroom.api.group import API_VERSION, GROUP, VERSION
from strongroom.api.phases import AccessRequestPhase, GrantPhase, is_terminal
from strongroom.api.safe import Safe
from strongroom.controllers import grant as grants
from strongroom.controllers.context import OperatorContext
from strongroom.identity.signing import seal_issuer, verify_requester, verify_review
from strongroom.kube import authz
from strongroom.kube import reads as store
from strongroom.kube.status import transition
from strongroom.policy.checkout import counts_grants
from strongroom.policy.delivery import secret_name_for
from strongroom.policy.request_decision import RequestFacts, RequestOutcome, decide_pending

Logger = logging.Logger | logging.LoggerAdapter[Any]
_PHASE = AccessRequestPhase


@dataclass(frozen=True)
class Seen:
    """The first look at a request's surroundings, read at once: its Account and Safe, the labels of
    its namespace, and whether the requester may read Secrets there."""

    account: Account | None
    safe: Safe | None
    namespace_labels: dict[str, str]
    requester_can_read_secrets: bool


def look(ctx: OperatorContext, request: AccessRequest) -> Seen:
    ref, requester = request.spec.account, request.spec.requester or ""
    (account, safe), labels, can_read = store.together(
        lambda: store.account_and_safe(ctx.api, ref.namespace, ref.name),
        lambda: store.namespace_labels(ctx.api, request.namespace),
        lambda: bool(requester) and authz.can_read_secrets(
            ctx.api, requester, request.spec.requester_groups, request.namespace),
    )
    return Seen(account, safe, labels, can_read)


def gather(ctx: OperatorContext, request: AccessRequest, seen: Seen, now: datetime) -> RequestFacts:
    """The facts for deciding `request`: what was `seen`, and the grants when the Safe's policy counts
    them (read now, under the Safe's lock, see `_decide`)."""
    ref, requester, safe = request.spec.account, request.spec.requester or "", seen.safe
    account_grants: list[Grant] = []
    requester_grants: list[Grant] = []
    if safe is not None and counts_grants(safe.spec.policy):
        account_grants, held, safe_accounts = store.together(
            lambda: store.grants_of_account(ctx.api, ref.namespace, ref.name, live=True),
            lambda: store.live_grants_of(ctx.api, requester) if requester else [],
            lambda: store.accounts_of_safe(ctx.api, safe.namespace, safe.name),
        )
        keys = {(a.namespace, a.name) for a in safe_accounts}
        requester_grants = [g for g in held if g.spec.account.key in keys]
    return RequestFacts(
        request=request,
        account=seen.account,
        safe=safe,
        namespace_labels=seen.namespace_labels,
        requester_can_read_secrets=seen.requester_can_read_secrets,
        requester_verdict=verify_requester(ctx.key, request.namespace, request.spec, request.created),
        review_verdicts={r.user: verify_review(ctx.key, request.uid, r) for r in request.status.reviews},
        account_grants=account_grants,
        requester_grants=requester_grants,
        now=now,
    )


def _issue_grant(ctx: OperatorContext, request: AccessRequest) -> Grant | None:
    """Create the Grant that the request's status says was approved (owned by the request, so it goes
    when the request goes). Only ever called once that status is stored, so a decision that lost a
    race (its conditional write refused) never leaves a Grant behind."""
    status = request.status
    assert status.not_before is not None and status.not_after is not None and status.secret_name
    body = {
        "apiVersion": API_VERSION, "kind": "Grant",
        "metadata": {
            "name": status.grant or request.name, "namespace": request.namespace,
            "ownerReferences": [{"apiVersion": API_VERSION, "kind": "AccessRequest", "name": request.name,
                                 "uid": request.uid, "controller": True, "blockOwnerDeletion": True}],
            "labels": {f"{GROUP}/access-request": request.name},
        },
        "spec": {
            "account": request.spec.account.model_dump(mode="json", by_alias=True),
            "subject": {"user": request.spec.requester, "groups": list(request.spec.requester_groups)},
            "notBefore": format_time(status.not_before),
            "notAfter": format_time(status.not_after),
            "secretName": status.secret_name,
            "source": {"accessRequest": request.name},
            "issuedBy": ctx.user,
        },
    }
    # The webhooks skip the operator's own writes, so it seals its Grants itself.
    spec = GrantSpec.model_validate(body["spec"])
    body["spec"]["issuedBySignature"] = seal_issuer(ctx.key, request.namespace, spec, datetime.now(UTC))
    try:
        created = client.CustomObjectsApi(ctx.api).create_namespaced_custom_object(
            GROUP, VERSION, request.namespace, "grants", body)
    except ApiException as exc:
        if exc.status != 409:  # issued before a restart
            raise
        return None
    return Grant.from_object(created)


def _conditions(current: list[Condition], outcome: RequestOutcome) -> list[Condition]:
    """The request's conditions updated by the outcome's (a repeated status keeps its transition time)."""
    merged = list(current)
    for condition in outcome.conditions:
        merged = set_condition(merged, condition)
    return merged


def _submitted(ctx: OperatorContext, request: AccessRequest, logger: Logger) -> AccessRequest:
    """The first history entry: who asked for what, and why."""
    spec = request.spec
    asked = spec.duration or (spec.window and f"{format_time(spec.window.start)} to {format_time(spec.window.end)}")
    written = transition(
        ctx, request, logger, actor=spec.requester or None, event="Submitted",
        message=f"{spec.requester} asked for {spec.account.namespace}/{spec.account.name} "
        f"({asked or 'the default duration'}): {spec.reason or 'no reason given'}",
        changes={"phase": _PHASE.PENDING.value, "createdAt": format_time(request.created)},
    )
    return AccessRequest.from_object(written)


def _decide(ctx: OperatorContext, request: AccessRequest, logger: Logger) -> None:
    if not request.status.history:
        request = _submitted(ctx, request, logger)
    seen = look(ctx, request)
    safe = seen.safe
    if safe is not None and counts_grants(safe.spec.policy):
        # One decision at a time per such Safe, from reading its grants to issuing the new one, so two
        # requests decided at once cannot both take the last place.
        with ctx.safe_locks.lock((safe.namespace, safe.name)):
            _decide_on(ctx, request, seen, logger)
    else:
        _decide_on(ctx, request, seen, logger)


def _decide_on(ctx: OperatorContext, request: AccessRequest, seen: Seen, logger: Logger) -> None:
    """Decide, write the outcome and, when approved, issue the Grant and deliver what is due now."""
    now = datetime.now(UTC)
    facts = gather(ctx, request, seen, now)
    outcome = decide_pending(facts)
    status = request.status
    conditions = _conditions(status.conditions, outcome)
    changes: dict[str, Any] = {
        "approvalsRequired": outcome.approvals_required,
        "approvalsReceived": outcome.approvals_received,
        "conditions": [c.model_dump(mode="json", by_alias=True, exclude_none=True) for c in conditions],
        **({"policyHash": outcome.policy_hash} if outcome.policy_hash else {}),
    }
    if outcome.phase is _PHASE.PENDING:
        if outcome.approvals_received != status.approvals_received or conditions != status.conditions:
            transition(ctx, request, logger, changes={"phase": _PHASE.PENDING.value, **changes},
                       event="Reviewed" if status.reviews else "AwaitingApproval", message=outcome.message)
        return
    changes |= {"phase": outcome.phase.value, "decidedAt": format_time(now)}
    if outcome.phase is _PHASE.APPROVED:
        assert outcome.window is not None
        changes |= {
            "grant": request.name,
            "secretName": request.spec.secret_name or secret_name_for(request.name),
            "notBefore": format_time(outcome.window.not_before),
            "notAfter": format_time(outcome.window.not_after),
        }
    else:
        changes |= {"finishedAt": format_time(now)}
        if outcome.phase is _PHASE.REJECTED:
            changes["rejectedReason"] = outcome.reason
    written = transition(ctx, request, logger, changes=changes, event=outcome.reason, message=outcome.message,
                         warning=outcome.phase is _PHASE.REJECTED)
    if outcome.phase is _PHASE.APPROVED:
        approved = AccessRequest.from_object(written)
        # Issue and deliver at once, from the facts just decided on, holding the Grant's lock from
        # before it exists: its daemon, started when the Grant appears, waits rather than read them again.
        with ctx.grant_locks.lock((approved.namespace, approved.status.grant or approved.name)):
            grant = _issue_grant(ctx, approved)
            if grant is not None and outcome.window.not_before <= datetime.now(UTC):
                grants.step(ctx, grant, logger, known=grants.Standing(facts.account, facts.safe))


def _follow_grant(ctx: OperatorContext, request: AccessRequest, logger: Logger) -> None:
    name = request.status.grant or request.name
    with ctx.grant_locks.lock((request.namespace, name)):  # an issue in flight (`_decide`) finishes first
        grant = store.get(ctx.api, Grant, request.namespace, name)
        if grant is None and request.status.phase is _PHASE.APPROVED and request.status.activated_at is None:
            _issue_grant(ctx, request)  # approved, but the operator stopped before it issued the Grant
            return
    if grant is None or grant.metadata.get("deletionTimestamp"):
        transition(ctx, request, logger, warning=True, event="Revoked", message="the grant was deleted (revoked)",
                   changes={"phase": _PHASE.REVOKED.value, "finishedAt": format_time(datetime.now(UTC))})
        return
    if request.spec.release and not is_terminal(grant.status.phase):
        grants.end(ctx, grant, GrantPhase.RELEASED, "Released", f"released by {request.spec.requester}",
                   logger=logger, actor=request.spec.requester)
        return
    grants.follow(ctx, grant, logger)


def _retire(ctx: OperatorContext, request: AccessRequest, logger: Logger) -> None:
    """Delete a finished request (and with it its Grant) once the retention has passed."""
    finished = request.status.finished_at
    if finished is None or datetime.now(UTC) < finished + ctx.retention:
        return
    logger.info(f"Retired: finished at {format_time(finished)}, kept for the retention")
    try:
        client.CustomObjectsApi(ctx.api).delete_namespaced_custom_object(
            GROUP, VERSION, request.namespace, "accessrequests", request.name, propagation_policy="Background")
    except ApiException as exc:
        if exc.status != 404:
            raise


def _fingerprint(request: AccessRequest) -> str:
    inputs = {"spec": request.spec.model_dump(mode="json"), "reviews": [r.signature for r in request.status.reviews]}
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def reconcile(ctx: OperatorContext, body: Any, logger: Logger, *, fresh: bool = False) -> None:
    """`fresh` decides again even when nothing the request says has changed (time passes, Safes change)."""
    request = AccessRequest.from_object(body)
    if request.metadata.get("deletionTimestamp"):
        return
    phase = request.status.phase
    if is_terminal(phase):
        ctx.decided.pop(request.uid, None)
        _retire(ctx, request, logger)
    elif phase is _PHASE.PENDING:
        fingerprint = _fingerprint(request)
        if fresh or ctx.decided.get(request.uid) != fingerprint:
            _decide(ctx, request, logger)
            ctx.decided[request.uid] = fingerprint
    else:
        _follow_grant(ctx, request, logger)
