"""The one status writer. Every status the operator writes goes through here:

- `transition`: a phase change (or an event in an object's life), checked against the phase table,
  written with a history entry, then one Event on the object and one JSON log line. None of them
  carries a secret value; messages are cut to fit rather than refused.
- `observe`: status that is observation only (conditions, counts): written only when it differs.

Writes are merge patches of the status subresource, conditional on the resourceVersion read, so a
writer that acted on an older object loses (409) instead of overwriting. The answer goes into the
cache at once: the next look at the object sees what was just written.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from strongroom.api.common import HistoryEntry, Resource, append_history
from strongroom.api.phases import Phase, move
from strongroom.kube.clock import Clock
from strongroom.kube.events import EventRecorder
from strongroom.kube.rest import Kube, custom_path

R = TypeVar("R", bound=Resource)
HISTORY_MESSAGE_LIMIT = 1024
ACTOR_LIMIT = 512
EVENT_LIMIT = 64


def cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def written(obj: Resource) -> bool:
    """Whether the operator has written this object's status yet (its first write adds history)."""
    return bool(getattr(obj.status, "history", None))  # type: ignore[attr-defined]


def current_phase(obj: Resource) -> Phase | None:
    return obj.status.phase if written(obj) else None  # type: ignore[attr-defined]


class StatusWriter:
    def __init__(self, kube: Kube, clock: Clock, recorder: EventRecorder, operator_user: str,
                 log: logging.Logger) -> None:
        self._kube = kube
        self._clock = clock
        self._recorder = recorder
        self._user = operator_user
        self._log = log
        self._written: Callable[[Resource], object] = lambda _: None

    def on_written(self, callback: Callable[[Resource], object]) -> None:
        """Hand every object as stored after a write to `callback` (the cache, and what depends on it)."""
        self._written = callback

    def transition(self, obj: R, *, event: str, message: str, changes: Mapping[str, Any] | None = None,
                   phase: Phase | None = None, actor: str | None = None, warning: bool = False,
                   history: tuple[HistoryEntry, ...] = ()) -> R:
        """Write `changes` (and `phase`, which must be a legal move) with a history entry for `event`.
        `history` adds entries before this one (a first write that also records the submission)."""
        body: dict[str, Any] = dict(changes or {})
        if phase is not None:
            body["phase"] = move(current_phase(obj), phase).value
        entries = list(obj.status.history)  # type: ignore[attr-defined]
        for entry in (*history, self.entry(event, message, actor)):
            entries = append_history(entries, entry)
        body["history"] = [h.model_dump(mode="json", by_alias=True, exclude_none=True) for h in entries]
        stored = self._patch(obj, body)
        for earlier in history:  # each entry is a transition of its own: its Event and its line
            self._told(stored, earlier.event, earlier.message, None, False)
        self._told(stored, event, message, phase, warning)
        return stored

    def _told(self, obj: Resource, event: str, message: str, phase: Phase | None, warning: bool) -> None:
        self._recorder.record(obj, event, message, warning)
        phase_text = f" ({phase})" if phase is not None else ""
        line = f"{event}{phase_text}: {obj.kind} {obj.namespace}/{obj.name}: {cut(message, HISTORY_MESSAGE_LIMIT)}"
        (self._log.warning if warning else self._log.info)(line)

    def entry(self, event: str, message: str, actor: str | None = None) -> HistoryEntry:
        return HistoryEntry(time=self._clock.now(), actor=cut(actor or self._user, ACTOR_LIMIT),
                            event=cut(event, EVENT_LIMIT), message=cut(message, HISTORY_MESSAGE_LIMIT))

    def observe(self, obj: R, changes: Mapping[str, Any]) -> R:
        """Write observed status fields when they differ from what is stored (None removes a field)."""
        current = obj.status.model_dump(mode="json", by_alias=True, exclude_none=True)  # type: ignore[attr-defined]
        if all(current.get(key) == value for key, value in changes.items()):
            return obj
        return self._patch(obj, changes)

    def _patch(self, obj: R, status: Mapping[str, Any]) -> R:
        body = {"metadata": {"resourceVersion": obj.metadata.get("resourceVersion")}, "status": dict(status)}
        answer = self._kube.merge_patch(custom_path(obj.crd.plural, obj.namespace, obj.name, "status"), body)
        stored = type(obj).from_object(answer)
        self._written(stored)
        return stored
