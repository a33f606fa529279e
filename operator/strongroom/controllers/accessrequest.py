"""The AccessRequest controller: decide a pending request with `policy.request_decision`, issue its
Grant when approved, follow the Grant's phase afterwards, and delete the request when its retention
has passed.

One request is reconciled by one worker at a time; the answer is the moment it next needs a look by
time alone (the approval timeout, the end of a member's schedule, the end of the retention). A
finished request costs nothing until then: no API call.

Order of writes on approval, so that a crash anywhere leaves a state the next reconcile completes:
the Grant is created first (the decision's commit point: it names this request's uid, and while it
exists the request is never decided again); the Grant controller delivers; this controller then
records what the Grant did (Pending -> Active, or Approved while the window has not started).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kubernetes.client.exceptions import ApiException

from strongroom.api.accessrequest import AccessRequest, RejectionReason
from strongroom.api.account import Account
from strongroom.api.common import Condition, ConditionStatus, format_time, set_condition
from strongroom.api.grant import Grant, GrantSpec
from strongroom.api.group import API_VERSION, GROUP
from strongroom.api.phases import AccessRequestPhase, GrantPhase, is_terminal
from strongroom.api.safe import Safe
from strongroom.controllers.context import Context, key_of
from strongroom.controllers.dependents import remember_written
from strongroom.identity.signing import (
    Seal,
    binding,
    binds,
    nonce_of,
    seal_issuer,
    verify_issuer,
    verify_release,
    verify_requester,
    verify_review,
)
from strongroom.kube import reads
from strongroom.kube.rest import custom_path
from strongroom.kube.status import current_phase
from strongroom.policy.checkout import counts_grants
from strongroom.policy.delivery import label_value, secret_name_for
from strongroom.policy.request_decision import RequestFacts, RequestOutcome, decide_pending
from strongroom.policy.verdicts import VERIFIED, Unverified, Verdict

KIND = "AccessRequest"
_PHASE = AccessRequestPhase
UNVERIFIED_RELEASE = "UnverifiedRelease"
# A Grant's phase, as the phase of the request it was issued for.
_FOLLOWS = {
    GrantPhase.SCHEDULED: _PHASE.APPROVED,
    GrantPhase.ACTIVE: _PHASE.ACTIVE,
    GrantPhase.EXPIRED: _PHASE.EXPIRED,
    GrantPhase.RELEASED: _PHASE.RELEASED,
    GrantPhase.REVOKED: _PHASE.REVOKED,
}


def reconcile(ctx: Context, namespace: str, name: str) -> datetime | None:
    request = ctx.cache.get(AccessRequest, namespace, name)
    if request is None or request.metadata.get("deletionTimestamp"):
        return None
    now = ctx.clock.now()
    phase = current_phase(request)
    if phase is not None and is_terminal(phase):
        return _retire(ctx, request, now)
    grant = _own_grant(ctx, request)
    if grant is not None or phase in (_PHASE.APPROVED, _PHASE.ACTIVE):
        following = _follow(ctx, request, grant)
    else:
        following = _decide(ctx, request, now)
    # Finished by this very look: its retention runs from now. (The watch event of the write that
    # finished it brings no second look: the cache holds that version already.)
    written = ctx.cache.get(AccessRequest, namespace, name)
    if written is not None and (ended := current_phase(written)) is not None and is_terminal(ended):
        return _retire(ctx, written, ctx.clock.now())
    return following


# -- who asked ---------------------------------------------------------------------------------------


def requester_verdict(ctx: Context, request: AccessRequest) -> Verdict:
    """The requester's seal verified, and honoured for this object only (see identity.signing)."""
    spec, key = request.spec, ctx.identity.key
    verdict = verify_requester(key, request.namespace, spec, request.created)
    if not verdict.ok or binds(key, request.uid, spec, request.status.requester_binding):
        return verdict
    seal, nonce = Seal.parse(spec.requester_signature), nonce_of(spec)
    if seal is None or nonce is None or not ctx.ledger.claim(nonce, request.uid, seal.stamped_at):
        return Verdict(False, Unverified.REUSED)
    return VERIFIED


def actor(request: AccessRequest, verdict: Verdict) -> tuple[str | None, str]:
    """Who to name in history for what the requester did: the requester only once their seal verified."""
    claimed = request.spec.requester or "(none stamped)"
    return (request.spec.requester, claimed) if verdict.ok else (None, f"an unverified requester (claims {claimed})")


def _first_changes(ctx: Context, request: AccessRequest, verdict: Verdict) -> dict[str, Any]:
    """What the first status write adds: when it was created and, once honoured, the seal's binding."""
    changes: dict[str, Any] = {}
    if not request.status.history:
        changes["createdAt"] = format_time(request.created)
    if verdict.ok and not request.status.requester_binding:
        changes["requesterBinding"] = binding(ctx.identity.key, request.uid, request.spec)
    return changes


def _submitted(ctx: Context, request: AccessRequest, verdict: Verdict) -> tuple[Any, ...]:
    """The first history entry (who asked for what, and why) when the status is written the first time."""
    if request.status.history:
        return ()
    spec = request.spec
    asked = spec.duration or (spec.window and f"{format_time(spec.window.start)} to {format_time(spec.window.end)}")
    who, named = actor(request, verdict)
    message = (f"{named} asked for {spec.account.namespace}/{spec.account.name} "
               f"({asked or 'the default duration'}): {spec.reason or 'no reason given'}")
    return (ctx.status.entry("Submitted", message, who),)


# -- deciding --------------------------------------------------------------------------------------


def _facts(ctx: Context, request: AccessRequest, verdict: Verdict, now: datetime, *, account: Account | None,
           safe: Safe | None, grants: tuple[list[Grant], list[Grant]] = ([], [])) -> RequestFacts:
    return RequestFacts(
        request=request,
        account=account,
        safe=safe,
        namespace_labels=ctx.cache.namespace_labels(request.namespace) or {},
        requester_verdict=verdict,
        review_verdicts={r.user: verify_review(ctx.identity.key, request.uid, r) for r in request.status.reviews},
        account_grants=grants[0],
        requester_grants=grants[1],
        now=now,
    )


def _decide(ctx: Context, request: AccessRequest, now: datetime) -> datetime | None:
    verdict = requester_verdict(ctx, request)
    ref = request.spec.account
    account, safe = ctx.cache.account_and_safe(ref.namespace, ref.name)
    outcome = decide_pending(_facts(ctx, request, verdict, now, account=account, safe=safe))
    if outcome.phase is _PHASE.PENDING:
        _write_pending(ctx, request, outcome, verdict)
        return outcome.next_check
    if outcome.reason in (RejectionReason.IDENTITY_NOT_VERIFIED, "Denied"):
        _write_final(ctx, request, outcome, verdict)  # rests on the request itself, not on the cache
        return None
    # A final answer: decided again on fresh reads, as the watch stream's copy may lag behind.
    account, safe = ctx.together(lambda: reads.get(ctx.kube, Account, ref.namespace, ref.name),
                                 lambda: account and reads.get(ctx.kube, Safe, ref.namespace, account.spec.safe))
    for fresh in (account, safe):
        if fresh is not None:
            ctx.cache.put(fresh)
    if safe is not None and counts_grants(safe.spec.policy):
        with ctx.safe_locks.lock((safe.namespace, safe.name)):
            grants = _counted_grants(ctx, request, safe)
            return _act(ctx, request, decide_pending(
                _facts(ctx, request, verdict, now, account=account, safe=safe, grants=grants)), verdict)
    return _act(ctx, request, decide_pending(_facts(ctx, request, verdict, now, account=account, safe=safe)),
                verdict)


def _counted_grants(ctx: Context, request: AccessRequest, safe: Safe) -> tuple[list[Grant], list[Grant]]:
    """The live grants exclusive check-out and the per-user limit count, read fresh."""
    ref, requester = request.spec.account, request.spec.requester or ""
    of_account, of_user = ctx.together(
        lambda: reads.live_grants_of_account(ctx.kube, ref.namespace, ref.name),
        lambda: reads.live_grants_of_user(ctx.kube, requester) if requester else [])
    in_safe = {(a.namespace, a.name) for a in ctx.cache.accounts_of_safe(safe)}
    return of_account, [g for g in of_user if g.spec.account.key in in_safe]


def _act(ctx: Context, request: AccessRequest, outcome: RequestOutcome, verdict: Verdict) -> datetime | None:
    if outcome.phase is _PHASE.PENDING:
        _write_pending(ctx, request, outcome, verdict)
        return outcome.next_check
    if outcome.phase is _PHASE.APPROVED:
        return _issue(ctx, request, outcome, verdict)
    _write_final(ctx, request, outcome, verdict)
    return None


def _conditions(request: AccessRequest, new: tuple[Condition, ...]) -> list[dict[str, Any]]:
    merged = list(request.status.conditions)
    for condition in new:
        merged = set_condition(merged, condition)
    return [c.model_dump(mode="json", by_alias=True, exclude_none=True) for c in merged]


def _counts(request: AccessRequest, outcome: RequestOutcome) -> dict[str, Any]:
    return {
        "approvalsRequired": outcome.approvals_required,
        "approvalsReceived": outcome.approvals_received,
        "conditions": _conditions(request, outcome.conditions),
        **({"policyHash": outcome.policy_hash} if outcome.policy_hash else {}),
    }


def _write_pending(ctx: Context, request: AccessRequest, outcome: RequestOutcome, verdict: Verdict) -> None:
    changes = {**_first_changes(ctx, request, verdict), **_counts(request, outcome)}
    stored = request.status.model_dump(mode="json", by_alias=True, exclude_none=True)
    if request.status.history and all(stored.get(k) == v for k, v in changes.items()):
        return  # nothing new: no write
    if not request.status.history:  # the first word on it: who asked, and what it waits for
        (submitted,) = _submitted(ctx, request, verdict)
        ctx.status.transition(request, phase=_PHASE.PENDING, event="Submitted", actor=submitted.actor,
                              message=f"{submitted.message}; {outcome.message}", changes=changes)
        return
    ctx.status.transition(request, phase=_PHASE.PENDING, event="Reviewed", message=outcome.message, changes=changes)


def _write_final(ctx: Context, request: AccessRequest, outcome: RequestOutcome, verdict: Verdict) -> None:
    now = format_time(ctx.clock.now())
    changes = {**_first_changes(ctx, request, verdict), **_counts(request, outcome),
               "decidedAt": now, "finishedAt": now}
    if outcome.phase is _PHASE.REJECTED:
        changes["rejectedReason"] = outcome.reason
    ctx.status.transition(request, phase=outcome.phase, event=outcome.reason, message=outcome.message,
                          changes=changes, warning=outcome.phase is _PHASE.REJECTED,
                          history=_submitted(ctx, request, verdict))
    ctx.metrics.requests.labels(outcome.phase.value, outcome.reason).inc()
    _touch_safe(ctx, request)


def _issue(ctx: Context, request: AccessRequest, outcome: RequestOutcome, verdict: Verdict) -> datetime | None:
    """Create the Grant: owned by the request (it goes when the request goes), naming its uid, sealed."""
    assert outcome.window is not None and request.spec.requester
    spec = GrantSpec.model_validate({
        "account": request.spec.account.model_dump(mode="json", by_alias=True),
        "subject": {"user": request.spec.requester, "groups": list(request.spec.requester_groups)},
        "notBefore": format_time(outcome.window.not_before),
        "notAfter": format_time(outcome.window.not_after),
        "secretName": request.spec.secret_name or secret_name_for(request.name),
        "source": {"accessRequest": request.name, "uid": request.uid},
        "approvedBy": list(outcome.approved_by),
        "policyHash": outcome.policy_hash,
        "issuedBy": ctx.identity.user,
    })
    # The webhooks skip the operator's own writes, so it seals its Grants itself.
    sealed = spec.model_copy(update={"issued_by_signature": seal_issuer(ctx.identity.key, request.namespace, spec,
                                                                        ctx.clock.now())})
    body = {
        "apiVersion": API_VERSION, "kind": "Grant",
        "metadata": {
            "name": request.name, "namespace": request.namespace,
            "labels": {f"{GROUP}/access-request": label_value(request.name)},
            "ownerReferences": [{"apiVersion": API_VERSION, "kind": KIND, "name": request.name, "uid": request.uid,
                                 "controller": True, "blockOwnerDeletion": True}],
        },
        "spec": sealed.model_dump(mode="json", by_alias=True, exclude_none=True),
    }
    try:
        created = Grant.from_object(ctx.kube.create(custom_path("grants", request.namespace), body))
    except ApiException as exc:
        if exc.status != 409:
            raise
        existing = reads.get(ctx.kube, Grant, request.namespace, request.name)
        if existing is None or existing.spec.source.uid != request.uid:
            _name_taken(ctx, request, outcome, verdict)
            return None
        created = existing  # ours, issued before a restart
    remember_written(ctx, created)
    ctx.queue.enqueue(key_of(created))
    return None


def _name_taken(ctx: Context, request: AccessRequest, outcome: RequestOutcome, verdict: Verdict) -> None:
    taken = outcome.__class__(**{**outcome.__dict__, "phase": _PHASE.REJECTED,
                                 "reason": RejectionReason.GRANT_NAME_TAKEN.value,
                                 "message": f"a Grant named {request.name} already exists in {request.namespace} and "
                                 "is not this request's; it is left as it is. File the request under another name"})
    _write_final(ctx, request, taken, verdict)


# -- following the Grant ---------------------------------------------------------------------------


def _own_grant(ctx: Context, request: AccessRequest) -> Grant | None:
    """The Grant issued for this very request: naming its uid, and sealed by the operator."""
    grant = ctx.cache.grant_for(request)
    if grant is None or grant.spec.issued_by != ctx.identity.user:
        return None
    return grant if verify_issuer(ctx.identity.key, grant.namespace, grant.spec, grant.created).ok else None


def _follow(ctx: Context, request: AccessRequest, grant: Grant | None) -> datetime | None:
    phase = current_phase(request)
    if grant is None:
        if phase in (_PHASE.APPROVED, _PHASE.ACTIVE):
            now = format_time(ctx.clock.now())
            ctx.status.transition(request, phase=_PHASE.REVOKED, event="Revoked", warning=True,
                                  message="the grant was deleted (revoked)", changes={"finishedAt": now})
            ctx.metrics.requests.labels(_PHASE.REVOKED.value, "Deleted").inc()
        return None
    if request.spec.release:
        _release(ctx, request, grant)
    if not grant.status.history:
        return None  # the Grant controller has not looked at it yet; its first write brings us back
    target = _FOLLOWS[grant.status.phase]
    if phase in (None, _PHASE.PENDING) and is_terminal(target) and grant.status.secret_written_at is None:
        target = _PHASE.REJECTED  # it ended before access began: the request never had any
    if target == phase:
        return None
    _record(ctx, request, grant, target)
    return None


def _release(ctx: Context, request: AccessRequest, grant: Grant) -> None:
    """Honour a release stamped and sealed by the webhook; say why not otherwise."""
    verdict = verify_release(ctx.identity.key, request.uid, request.spec)
    if verdict.ok:
        if not is_terminal(grant.status.phase):
            ctx.queue.enqueue(key_of(grant))  # the Grant controller ends it, naming who released
        return
    condition = Condition(type=UNVERIFIED_RELEASE, status=ConditionStatus.TRUE, reason=str(verdict.reason),
                          message=f"release is not honoured: {verdict.message}", last_transition_time=ctx.clock.now())
    changes = {"conditions": _conditions(request, (condition,))}
    if changes["conditions"] != [c.model_dump(mode="json", by_alias=True, exclude_none=True)
                                 for c in request.status.conditions]:
        ctx.status.observe(request, changes)


def approval_message(grant: Grant) -> str:
    by = f"by {', '.join(grant.spec.approved_by)}" if grant.spec.approved_by else \
        "automatically (the safe requires no approval)"
    return f"approved {by}: access from {format_time(grant.spec.not_before)} until {format_time(grant.spec.not_after)}"


def _record(ctx: Context, request: AccessRequest, grant: Grant, target: AccessRequestPhase) -> None:
    """Bring the request to `target`, the phase its Grant reached."""
    verdict = requester_verdict(ctx, request) if not request.status.history else VERIFIED
    phase, now = current_phase(request), format_time(ctx.clock.now())
    changes: dict[str, Any] = {**_first_changes(ctx, request, verdict), "grant": grant.name,
                               "secretName": grant.spec.secret_name, "notBefore": format_time(grant.spec.not_before),
                               "notAfter": format_time(grant.spec.not_after)}
    if phase is _PHASE.PENDING or phase is None:
        changes |= {"decidedAt": format_time(grant.created), "approvalsReceived": len(grant.spec.approved_by),
                    **({"policyHash": grant.spec.policy_hash} if grant.spec.policy_hash else {})}
    history = _submitted(ctx, request, verdict)
    if target is _PHASE.ACTIVE:
        changes["activatedAt"] = format_time(grant.status.secret_written_at or grant.created)
        event = "Approved" if phase in (None, _PHASE.PENDING) else "Active"
        message = approval_message(grant) if event == "Approved" else \
            f"access active until {format_time(grant.spec.not_after)}"
    elif target is _PHASE.APPROVED:
        event, message = "Approved", approval_message(grant)
    else:
        changes["finishedAt"] = now
        event = target.value
        reason = grant.status.ended_reason or target.value
        why = grant.status.history[-1].message if grant.status.history else reason
        message = f"access ended: {why}" if target is not _PHASE.REJECTED else f"access never began: {why}"
        if target is _PHASE.REJECTED:
            changes["rejectedReason"] = reason
    who = request.spec.released_by if target is _PHASE.RELEASED else None
    ctx.status.transition(request, phase=target, event=event, message=message, changes=changes, actor=who,
                          history=history, warning=target in (_PHASE.REVOKED, _PHASE.REJECTED))
    if is_terminal(target) or target is _PHASE.ACTIVE:
        ctx.metrics.requests.labels(target.value, event).inc()
    _touch_safe(ctx, request)


# -- housekeeping ----------------------------------------------------------------------------------


def _retire(ctx: Context, request: AccessRequest, now: datetime) -> datetime | None:
    """Delete a finished request (and with it its Grant) once the retention has passed."""
    finished = request.status.finished_at or request.created
    due = finished + ctx.settings.retention
    if now < due:
        return due
    ctx.kube.delete(custom_path("accessrequests", request.namespace, request.name), uid=request.uid,
                    propagation="Background")
    ctx.log.info(f"Retired: AccessRequest {request.namespace}/{request.name}: finished at "
                 f"{format_time(finished)}, kept for the retention")
    return None


def _touch_safe(ctx: Context, request: AccessRequest) -> None:
    """The Safe's counts changed: have its status written soon, together with other changes."""
    ref = request.spec.account
    account = ctx.cache.get(Account, ref.namespace, ref.name)
    if account is not None:
        ctx.queue.enqueue_after(("Safe", account.namespace, account.spec.safe), ctx.settings.status_delay)
