"""Kubernetes Events for what happened to an object. Messages name people and objects, never values."""

from __future__ import annotations

import contextlib
import secrets
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from strongroom.api.common import Resource

COMPONENT = "strongroom-operator"
# One poster thread: Events go out in order, each after the write it describes, and no transition
# waits for one. Pending Events are still posted when the process exits normally.
_POSTER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="strongroom-events")


def record(api: client.ApiClient, obj: Resource, reason: str, message: str, warning: bool = False) -> None:
    """Post one Event on `obj`. Best effort: an Event that cannot be written never blocks a transition."""
    now = datetime.now(UTC)
    body: dict[str, Any] = {
        "metadata": {"name": f"{obj.name}.{secrets.token_hex(8)}", "namespace": obj.namespace},
        "involvedObject": {
            "apiVersion": obj.api_version, "kind": obj.kind, "name": obj.name,
            "namespace": obj.namespace, "uid": obj.uid,
        },
        "reason": reason,
        "message": message[:1024],
        "type": "Warning" if warning else "Normal",
        "source": {"component": COMPONENT},
        "reportingComponent": COMPONENT,
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
    }
    _POSTER.submit(_post, api, obj.namespace, body)


def _post(api: client.ApiClient, namespace: str, body: dict[str, Any]) -> None:
    with contextlib.suppress(ApiException):  # Events are a courtesy; status and history are the record
        client.CoreV1Api(api).create_namespaced_event(namespace, body)
