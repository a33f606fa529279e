"""AccessRequests: reconciled on every watch event (new reviews live in status, which kopf's change
handlers do not see) and on a timer, for approval timeouts and retention."""

from __future__ import annotations

import logging
from typing import Any

import kopf
from kubernetes.client.exceptions import ApiException

from strongroom.api.group import GROUP, VERSION
from strongroom.api.phases import AccessRequestPhase, is_terminal
from strongroom.controllers import accessrequest as access_requests
from strongroom.controllers.context import OperatorContext


def _reconcile(ctx: OperatorContext, body: kopf.Body, logger: logging.Logger, fresh: bool = False) -> None:
    try:
        access_requests.reconcile(ctx, body, logger, fresh=fresh)
    except ApiException as exc:
        if exc.status != 409:
            raise
        # Changed while we decided: the change brings a new event, and we decide again then.
        logger.debug("conflict; deciding again on the next event")


@kopf.on.event(GROUP, VERSION, "accessrequests")
def on_request_event(type: str, body: kopf.Body, memo: kopf.Memo, logger: logging.Logger, **_: Any) -> None:
    if type != "DELETED":
        _reconcile(memo.ctx, body, logger)


def _finished(status: kopf.Status, **_: Any) -> bool:
    return is_terminal(AccessRequestPhase(status.get("phase") or AccessRequestPhase.PENDING))


def _unfinished(status: kopf.Status, **_: Any) -> bool:
    return not _finished(status)


# The first look is the event handler's; the timer follows up as time passes (timeouts, schedules).
@kopf.timer(GROUP, VERSION, "accessrequests", interval=2, initial_delay=2, idle=0, backoff=1, when=_unfinished)
def recheck_request(body: kopf.Body, memo: kopf.Memo, logger: logging.Logger, **_: Any) -> None:
    _reconcile(memo.ctx, body, logger, fresh=True)


@kopf.timer(GROUP, VERSION, "accessrequests", interval=5, idle=0, backoff=10, when=_finished)
def retire_request(body: kopf.Body, memo: kopf.Memo, logger: logging.Logger, **_: Any) -> None:
    _reconcile(memo.ctx, body, logger)
