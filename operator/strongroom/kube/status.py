"""One transition, written the same way everywhere: the status change with a history entry, an Event
on the object, and one JSON log line (kopf's per-object logger). None of them carries a secret value."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from strongroom.api.common import HistoryEntry, Resource, append_history
from strongroom.controllers.context import OperatorContext
from strongroom.kube import events
from strongroom.kube import reads as store


def transition(
    ctx: OperatorContext,
    obj: Resource,
    logger: logging.Logger | logging.LoggerAdapter[Any],
    *,
    changes: Mapping[str, Any],
    event: str,
    message: str,
    actor: str | None = None,
    warning: bool = False,
) -> dict[str, Any]:
    now = datetime.now(UTC)
    history = append_history(
        obj.status.history,  # type: ignore[attr-defined]  (every kind's status keeps a history)
        HistoryEntry(time=now, actor=actor or ctx.user, event=event, message=message),
    )
    body = {**changes, "history": [h.model_dump(mode="json", by_alias=True, exclude_none=True) for h in history]}
    written = store.patch_status(ctx.api, obj, body)
    events.record(ctx.api, obj, event, message, warning)
    (logger.warning if warning else logger.info)(f"{event}: {message}")
    return written
