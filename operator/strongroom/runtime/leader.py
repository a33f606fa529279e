"""Leader election on a coordination.k8s.io Lease, as client-go does it: try every retry period, renew
while holding, and stop leading the moment a renewal has not succeeded within the renew deadline.
A record is taken over only after it has not changed for a whole lease duration as seen by this
process (its own monotonic clock), so clocks that disagree between nodes do not matter.

Being leader is not what keeps a deposed leader from writing: the API server refuses the writes of
any pod but the one the LeaderFence names (webhook.policies, the fence), and the leader names itself
there as soon as it holds the Lease, and again whenever it sees the fence name another. This module
decides when to start and stop working, and keeps the fence.

`strongroom operator failover` asks the leader to step down by annotating the Lease; the leader then
releases it (an empty holder, so a standby takes it at its next try), stops reconciling and stays on as
a standby (its webhooks keep answering), trying for the Lease again only after two lease durations.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from kubernetes.client.exceptions import ApiException

from strongroom.api.fence import LeaderFence
from strongroom.api.group import API_VERSION
from strongroom.kube.rest import Kube, custom_path, group_path, is_transient

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
                 on_change: Callable[[bool, str], None], on_fenced: Callable[[], None] = lambda: None) -> None:
        self._kube = kube
        self.settings = settings
        self._log = log
        self._on_change = on_change  # (leading, why)
        self._on_fenced = on_fenced  # the fence names this replica again: what it refused may go now
        self._lost: str | None = None  # set when the fence and the Lease both name another
        self._woken = asyncio.Event()  # wakes the run loop before its period is over
        self._path = group_path(COORDINATION, "leases", settings.namespace, settings.name)
        self._observed: tuple[str, float] | None = None  # (resourceVersion, monotonic time first seen)
        self.leading = asyncio.Event()
        self._renewed_at = 0.0
        self._released = False
        self._resting_until = 0.0  # after stepping down: let a standby take the Lease first
        self._fence = custom_path(LeaderFence.crd.plural, settings.namespace, settings.name)

    async def run(self) -> None:
        """Try, hold and renew until deposed (raises Deposed); a step-down makes this replica a standby."""
        period = self.settings.retry_period.total_seconds()
        while True:
            if self._lost is not None and self.leading.is_set():
                self._on_change(False, f"{self.settings.identity} lost lease {self.settings.name} to {self._lost}")
                raise Deposed(self.settings.identity)
            if time.monotonic() < self._resting_until:
                await self._pause(period)
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
                    await asyncio.to_thread(self.assert_fence)
                    self.leading.set()
                    self._on_fenced()
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
            await self._pause(period)

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._woken.wait(), seconds)
        self._woken.clear()

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

    def assert_fence(self) -> None:
        """Name this replica in the LeaderFence (only the Lease's holder does: it is called after a
        successful acquisition, or when the fence was seen naming another while this one leads)."""
        found = self._kube.get(self._fence)
        if found is not None and (found.get("spec") or {}).get("holder") == self.settings.identity:
            return
        body = leader_fence(self.settings.name, self.settings.namespace, holder=self.settings.identity)
        if found is None:
            self._kube.create(custom_path(LeaderFence.crd.plural, self.settings.namespace), body)
        else:  # conditional on the version read
            self._kube.request("PUT", self._fence, body={**body, "metadata": found["metadata"]})

    def fence_seen(self, holder: str) -> None:
        """The watch stream's word on the fence. While leading, a fence naming another is put right if
        the Lease still names this replica (someone else wrote the fence), and ends this replica's lead
        if not (another took the Lease: two replicas must never take turns naming themselves)."""
        if not self.leading.is_set():
            return
        if holder == self.settings.identity:
            self._on_fenced()
            return
        loop = asyncio.get_running_loop()
        loop.run_in_executor(None, self._answer_fence, holder, loop)

    def _answer_fence(self, holder: str, loop: asyncio.AbstractEventLoop) -> None:
        try:
            lease = self._kube.get(self._path)
            if ((lease or {}).get("spec") or {}).get("holderIdentity") != self.settings.identity:
                self._lost = holder or "nobody"
                loop.call_soon_threadsafe(self._woken.set)  # the run loop ends the lead at once
                return
            self._log.warning(f"FenceTaken: the fence names {holder or 'nobody'}; naming "
                              f"{self.settings.identity} again")
            self.assert_fence()
        except Exception as error:  # a conflict, or the API server away: the next fence event or renewal decides
            said = f"answered {error.status}" if isinstance(error, ApiException) else type(error).__name__
            self._log.warning(f"FenceNotTaken: the API server {said}")

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
        """Give the Lease and the fence up at once (an empty holder): a standby takes them at its next
        try. Best effort."""
        if self._released:
            return
        self._released = True
        fence = self._kube.get(self._fence)
        if fence is not None and (fence.get("spec") or {}).get("holder") == self.settings.identity:
            fence["spec"]["holder"] = ""
            with contextlib.suppress(ApiException):
                self._kube.request("PUT", self._fence, body=fence)
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


def leader_fence(name: str, namespace: str, holder: str = "") -> dict[str, Any]:
    """The LeaderFence naming `holder`; as installed it names nobody: no replica writes until one leads
    (the fence policy reads it)."""
    return {"apiVersion": API_VERSION, "kind": "LeaderFence",
            "metadata": {"name": name, "namespace": namespace, "labels": {COMPONENT_LABEL: "strongroom-leader"}},
            "spec": {"holder": holder}}


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
