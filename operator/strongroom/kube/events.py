"""Kubernetes Events for what happened to an object. Messages name people and objects, never values.

One poster thread per recorder: Events go out in order, each after the write it describes, and no
transition waits for one. `close` posts what is still queued."""

from __future__ import annotations

import contextlib
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import urllib3
from kubernetes.client.exceptions import ApiException

from strongroom.api.common import Resource, format_time
from strongroom.kube.clock import Clock
from strongroom.kube.rest import Kube, core_path

COMPONENT = "strongroom-operator"
MESSAGE_LIMIT = 1024
REASON_LIMIT = 128
_NAME_ROOM = 253 - 17  # an Event's name is the object's, a dot and 16 hex digits, within 253


def event_name(object_name: str) -> str:
    return f"{object_name[:_NAME_ROOM].rstrip('.-')}.{secrets.token_hex(8)}"


class EventRecorder:
    def __init__(self, kube: Kube, clock: Clock) -> None:
        self._kube = kube
        self._clock = clock
        self._poster = ThreadPoolExecutor(max_workers=1, thread_name_prefix="strongroom-events")
        self._queued = 0
        self._count = threading.Lock()

    def record(self, obj: Resource, reason: str, message: str, warning: bool = False) -> None:
        """Post one Event on `obj`. Best effort: an Event that cannot be written never blocks a transition."""
        self.post(obj.namespace, {"apiVersion": obj.api_version, "kind": obj.kind, "name": obj.name,
                                  "namespace": obj.namespace, "uid": obj.uid}, reason, message, warning)

    def post(self, namespace: str, involved: dict[str, Any], reason: str, message: str, warning: bool = False) -> None:
        now = format_time(self._clock.now())
        body: dict[str, Any] = {
            "metadata": {"name": event_name(str(involved["name"])), "namespace": namespace},
            "involvedObject": involved,
            "reason": reason[:REASON_LIMIT],
            "message": message[:MESSAGE_LIMIT],
            "type": "Warning" if warning else "Normal",
            "source": {"component": COMPONENT},
            "reportingComponent": COMPONENT,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
        }
        with self._count:
            self._queued += 1
        self._poster.submit(self._post, namespace, body)

    def pending(self) -> int:
        """Events not posted yet."""
        return self._queued

    def _post(self, namespace: str, body: dict[str, Any]) -> None:
        try:  # Events are a courtesy; status and history are the record
            with contextlib.suppress(ApiException, OSError, urllib3.exceptions.HTTPError):
                self._kube.create(core_path("events", namespace), body)
        finally:
            with self._count:
                self._queued -= 1

    def close(self) -> None:
        self._poster.shutdown(wait=True)
