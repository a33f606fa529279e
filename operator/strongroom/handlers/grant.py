"""Grants: one daemon per Grant sleeps until its next deadline (notBefore, notAfter) and acts on it at
once; a timer is the safety net; deleting a Grant revokes it. All of it is recomputed from the objects,
so an operator restart loses nothing: expired Secrets go at once, missing active ones come back."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import kopf

from strongroom.api.grant import Grant
from strongroom.api.group import GROUP, VERSION
from strongroom.api.phases import GrantPhase, is_terminal
from strongroom.controllers import grant as grants
from strongroom.controllers.context import OperatorContext

# Re-read at least this often, to notice an end written by someone else and stop.
_CHUNK = 10.0


@kopf.daemon(GROUP, VERSION, "grants", cancellation_timeout=5)
async def keep_grant(name: str, namespace: str, stopped: kopf.DaemonStopped, memo: kopf.Memo,
                     logger: logging.Logger, **_: Any) -> None:
    ctx: OperatorContext = memo.ctx
    while not stopped:
        wait = await asyncio.to_thread(grants.step_named, ctx, namespace, name, logger)
        if wait is None:
            return
        await stopped.wait(min(max(wait, 0.0), _CHUNK))


def _live(status: kopf.Status, **_: Any) -> bool:
    # Ended Grants need no timer: each daemon's first step sweeps its Secret once.
    return not is_terminal(GrantPhase(status.get("phase") or GrantPhase.SCHEDULED))


@kopf.timer(GROUP, VERSION, "grants", interval=30, initial_delay=30, idle=0, backoff=1, when=_live)
def recheck_grant(name: str, namespace: str, memo: kopf.Memo, logger: logging.Logger, **_: Any) -> None:
    grants.step_named(memo.ctx, namespace, name, logger, wait=False)  # busy: the daemon is at it


@kopf.on.delete(GROUP, VERSION, "grants")
def revoke_deleted_grant(body: kopf.Body, memo: kopf.Memo, logger: logging.Logger, **_: Any) -> None:
    ctx: OperatorContext = memo.ctx
    grant = Grant.from_object(body)
    with ctx.grant_locks.lock((grant.namespace, grant.name)):
        grants.end(ctx, grant, GrantPhase.REVOKED, "Deleted", "the grant was deleted", logger=logger)
