"""Leader election on a coordination.k8s.io Lease, as client-go does it: try every retry period, renew
while holding, and stop leading the moment a renewal has not succeeded within the renew deadline.
A record is taken over only after it has not changed for a whole lease duration as seen by this
process (its own monotonic clock), so clocks that disagree between nodes do not matter.

Being leader is not what keeps a deposed leader from writing: the API server refuses the writes of
any pod that does not hold the Lease (webhook.policies, the fence). This module only decides when
to start and stop working.

`strongroom operator failover` asks the leader to step down by annotating the Lease; the leader then
releases it (an empty holder, so a standby takes it at its next try), stops reconciling and stays on as
a standby (its webhooks keep answering), trying for the Lease again only after two lease durations.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from kubernetes.client.exceptions import ApiException

from strongroom.kube.rest import Kube, group_path, is_transient

COORDINATION = "coordination.k8s.io/v1"
STEP_DOWN = "strongroom.dev/step-down"  # annotation: "<time> <who>", written by `operator failover`
COMPONENT_LABEL = "app.kubernetes.io/component"
MEMBER = "strongroom-replica"


@dataclass(frozen=True)
class LeaseSettings:
    name: str
    namespace: str
    identity: str  # this replica: its pod's name, which the fence compares with the Lease's holder
    duration: timedelta = timedelta(seconds=15)
    renew_deadline: timedelta = timedelta(seconds=10)
    retry_period: timedelta = timedelta(seconds=2)

    def __post_init__(self) -> None:
        if not self.retry_period < self.renew_deadline < self.duration:
            raise ValueError("leader election needs retry period < renew deadline < lease duration")


class Deposed(Exception):
    """This replica led and no longer does: the process exits and starts again as a standby."""


def _now() -> str:
    """Now as a Lease's MicroTime: RFC 3339 with exactly six fractional digits."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LeaderElector:
    def __init__(self, kube: Kube, settings: LeaseSettings, log: logging.Logger,
                 on_change: Callable[[bool, str], None]) -> None:
        self._kube = kube
        self.settings = settings
        self._log = log
        self._on_change = on_change  # (leading, why)
        self._path = group_path(COORDINATION, "leases", settings.namespace, settings.name)
        self._observed: tuple[str, float] | None = None  # (resourceVersion, monotonic time first seen)
        self.leading = asyncio.Event()
        self._renewed_at = 0.0
        self._released = False
        self._resting_until = 0.0  # after stepping down: let a standby take the Lease first

    async def run(self) -> None:
        """Try, hold and renew until deposed (raises Deposed); a step-down makes this replica a standby."""
        period = self.settings.retry_period.total_seconds()
        while True:
            if time.monotonic() < self._resting_until:
                await asyncio.sleep(period)
                continue
            try:
                held, step_down = await asyncio.to_thread(self._try)
            except Exception as error:
                held, step_down = False, None
                if not is_transient(error):
                    self._log.warning(f"LeaseError: {type(error).__name__}: {str(error).splitlines()[0][:200]}")
            now = time.monotonic()
            if held:
                self._renewed_at = now
                if not self.leading.is_set():
                    self.leading.set()
                    self._on_change(True, f"{self.settings.identity} acquired lease {self.settings.name}")
                if step_down is not None:
                    self.leading.clear()
                    await asyncio.to_thread(self.release)
                    self._released = False  # it may lead again later
                    self._resting_until = time.monotonic() + 2 * self.settings.duration.total_seconds()
                    self._on_change(False, f"{self.settings.identity} stepped down as asked ({step_down}) and "
                                           "stays on as a standby")
            elif self.leading.is_set() and now - self._renewed_at > self.settings.renew_deadline.total_seconds():
                self._on_change(False, f"{self.settings.identity} could not renew lease {self.settings.name} "
                                       f"within {self.settings.renew_deadline.total_seconds():.0f}s")
                raise Deposed(self.settings.identity)
            await asyncio.sleep(period)

    def _try(self) -> tuple[bool, str | None]:
        """One attempt: (holding the Lease now, the step-down request if one is pending)."""
        found = self._kube.get(self._path)
        me = self.settings.identity
        if found is None:
            self._kube.create(group_path(COORDINATION, "leases", self.settings.namespace), self._record(None))
            return True, None
        spec = found.get("spec") or {}
        holder = spec.get("holderIdentity") or ""
        version = str(found["metadata"]["resourceVersion"])
        if self._observed is None or self._observed[0] != version:
            self._observed = (version, time.monotonic())
        if holder != me:
            expired = time.monotonic() - self._observed[1] > float(spec.get("leaseDurationSeconds") or 0)
            if holder and not expired:
                return False, None
        try:
            self._kube.request("PUT", self._path, body=self._record(found))
        except ApiException as exc:
            if exc.status == 409:  # somebody else wrote it first
                return False, None
            raise
        return True, (found["metadata"].get("annotations") or {}).get(STEP_DOWN) if holder == me else None

    def _record(self, found: dict[str, Any] | None) -> dict[str, Any]:
        spec = dict((found or {}).get("spec") or {})
        mine = spec.get("holderIdentity") == self.settings.identity
        now = _now()
        spec |= {"holderIdentity": self.settings.identity,
                 "leaseDurationSeconds": int(self.settings.duration.total_seconds()), "renewTime": now}
        if not mine:
            spec |= {"acquireTime": now, "leaseTransitions": int(spec.get("leaseTransitions") or 0) + (1 if found
                                                                                                        else 0)}
        metadata = dict((found or {}).get("metadata") or {"name": self.settings.name,
                                                          "namespace": self.settings.namespace})
        metadata.setdefault("labels", {})[COMPONENT_LABEL] = "strongroom-leader"
        return {"apiVersion": COORDINATION, "kind": "Lease", "metadata": metadata, "spec": spec}

    def release(self) -> None:
        """Give the Lease up at once (an empty holder): a standby takes it at its next try. Best effort."""
        if self._released:
            return
        self._released = True
        found = self._kube.get(self._path)
        if found is None or (found.get("spec") or {}).get("holderIdentity") != self.settings.identity:
            return
        found["spec"] |= {"holderIdentity": "", "leaseDurationSeconds": 1, "renewTime": _now()}
        annotations = found["metadata"].get("annotations") or {}
        annotations.pop(STEP_DOWN, None)
        found["metadata"]["annotations"] = annotations
        try:
            self._kube.request("PUT", self._path, body=found)
        except ApiException as exc:
            self._log.warning(f"LeaseNotReleased: the API server answered {exc.status}; a standby takes over "
                              f"when the lease expires")


def leader_lease(name: str, namespace: str) -> dict[str, Any]:
    """The leader Lease as installed, held by nobody (the fence policy needs it to exist)."""
    return {"apiVersion": COORDINATION, "kind": "Lease",
            "metadata": {"name": name, "namespace": namespace, "labels": {COMPONENT_LABEL: "strongroom-leader"}},
            "spec": {"leaseDurationSeconds": 15}}


def member_lease(settings: LeaseSettings, version: str, started: str, leading: bool) -> dict[str, Any]:
    """This replica's own heartbeat Lease: who it is, since when, which version, and whether it leads."""
    return {
        "apiVersion": COORDINATION, "kind": "Lease",
        "metadata": {"name": f"{settings.name}-{settings.identity}"[:253], "namespace": settings.namespace,
                     "labels": {COMPONENT_LABEL: MEMBER},
                     "annotations": {"strongroom.dev/version": version, "strongroom.dev/started": started,
                                     "strongroom.dev/leading": "true" if leading else "false"}},
        "spec": {"holderIdentity": settings.identity, "renewTime": _now(),
                 "leaseDurationSeconds": int(HEARTBEAT.total_seconds() * 3)},
    }


HEARTBEAT = timedelta(seconds=30)
