"""Kubernetes Events for what happened to an object. Messages name people and objects, never values."""

from __future__ import annotations

import contextlib
import secrets
from datetime import UTC, datetime
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from strongroom.models.common import Resource

COMPONENT = "strongroom-operator"


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
    with contextlib.suppress(ApiException):  # Events are a courtesy; status and history are the record
        client.CoreV1Api(api).create_namespaced_event(obj.namespace, body)
