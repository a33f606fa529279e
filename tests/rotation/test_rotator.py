"""The rotator against a small in-memory API server: what it does when the Account changed under it
between reading and reporting (an optimistic-concurrency conflict on the status)."""

from __future__ import annotations

import base64
import copy
import logging
from datetime import UTC, datetime
from typing import Any

from kubernetes.client.exceptions import ApiException

from strongroom.api.account import Account
from strongroom.api.group import API_VERSION
from strongroom.kube.rest import core_path, custom_path
from strongroom.kube.status import StatusWriter
from strongroom.rotation.protocol import PENDING_KEY
from strongroom.rotation.rotator import Rotator

ACCOUNT = custom_path("accounts", "vault", "db")


class MemoryKube:
    """GET and merge-PATCH on a few objects; a status patch naming an old resourceVersion is refused (409)."""

    def __init__(self, objects: dict[str, dict[str, Any]]) -> None:
        self.objects = objects
        self.patches: list[str] = []

    def get(self, path: str) -> dict[str, Any] | None:
        found = self.objects.get(path)
        return copy.deepcopy(found) if found is not None else None

    def merge_patch(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        self.patches.append(path)
        target = self.objects[path.removesuffix("/status")]
        wanted = body.get("metadata", {}).get("resourceVersion")
        if wanted is not None and wanted != target["metadata"]["resourceVersion"]:
            raise ApiException(status=409, reason="Conflict")
        _merge(target, body)
        target["metadata"]["resourceVersion"] = str(int(target["metadata"]["resourceVersion"]) + 1)
        return copy.deepcopy(target)


def _merge(into: dict[str, Any], patch: dict[str, Any]) -> None:
    for key, value in patch.items():
        if key == "resourceVersion":
            continue
        if value is None:
            into.pop(key, None)
        elif isinstance(value, dict):
            _merge(into.setdefault(key, {}), value)
        else:
            into[key] = value


class Clock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class Recorder:
    def __init__(self) -> None:
        self.reasons: list[str] = []

    def record(self, obj: object, reason: str, message: str, warning: bool = False) -> None:
        self.reasons.append(reason)


def account_object(resource_version: str) -> dict[str, Any]:
    return {"apiVersion": API_VERSION, "kind": "Account",
            "metadata": {"name": "db", "namespace": "vault", "uid": "u-1", "resourceVersion": resource_version,
                         "creationTimestamp": "2025-03-01T00:00:00Z"},
            "spec": {"safe": "prod-db", "username": "app", "secretRef": {"name": "db-cred"},
                     "rotation": {"requestedAt": "2025-03-03T12:00:00Z"}}}


def test_a_rotation_is_recorded_even_when_the_account_changed_meanwhile_and_is_not_done_twice() -> None:
    secret = {"metadata": {"name": "db-cred", "namespace": "vault", "resourceVersion": "1"},
              "data": {"password": base64.b64encode(b"old-password").decode()}}
    stored = account_object("7")
    stored["metadata"]["labels"] = {"changed": "by someone else"}
    kube = MemoryKube({ACCOUNT: stored, core_path("secrets", "vault", "db-cred"): secret})
    recorder, log = Recorder(), logging.getLogger("strongroom.test.rotator")
    rotator = Rotator(kube, Clock(), StatusWriter(kube, Clock(), recorder, "operator", log), recorder, log,  # type: ignore[arg-type]
                      on_result=lambda _: None)
    seen = Account.from_object(account_object("6"))  # the operator's copy, one change behind

    rotator.reconcile(seen, [])
    rotated = base64.b64decode(kube.objects[core_path("secrets", "vault", "db-cred")]["data"]["password"])
    assert rotated != b"old-password"
    assert PENDING_KEY not in kube.objects[core_path("secrets", "vault", "db-cred")]["data"]
    assert stored["status"]["rotation"]["lastResult"] == "Succeeded", "the rotation went unrecorded"
    assert stored["metadata"]["labels"] == {"changed": "by someone else"}

    rotator.reconcile(Account.from_object(kube.get(ACCOUNT)), [])  # the next look, with the Account as stored
    assert base64.b64decode(kube.objects[core_path("secrets", "vault", "db-cred")]["data"]["password"]) == rotated, \
        "rotated a second time: the first was not recorded"
    assert recorder.reasons == ["Rotated"]
