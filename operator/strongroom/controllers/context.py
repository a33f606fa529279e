"""What every controller is handed: settings fixed at start, who the operator is, and the parts that
each own one job (the cache, the queue, the status writer, the Event recorder, the seal ledger, the
locks, the reader pool, the metrics). Built once by the runtime; nothing here is module-global."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from strongroom.api.common import Resource
from strongroom.controllers.cache import Cache
from strongroom.controllers.manager import Key
from strongroom.controllers.metrics import Metrics
from strongroom.identity.ledger import SealLedger
from strongroom.kube.clock import Clock
from strongroom.kube.events import EventRecorder
from strongroom.kube.locks import KeyedLocks
from strongroom.kube.rest import Kube
from strongroom.kube.status import StatusWriter


@dataclass(frozen=True)
class Settings:
    """The controllers' knobs, fixed for the life of the process."""

    namespace: str  # the operator's own namespace: its sealing key, its Lease
    retention: timedelta = timedelta(days=30)  # how long finished requests are kept
    # How long status counts (a Safe's pending requests, an Account's holder) may lag behind the
    # objects they count: changes within this time are written together.
    status_delay: timedelta = timedelta(seconds=2)
    # How often an Account's Secret is looked at for its Ready condition with nothing else happening
    # (the operator may not watch Secrets): rare, and spread over time.
    secret_check: timedelta = timedelta(minutes=10)


@dataclass(frozen=True)
class Identity:
    """Who the operator is, as the API server authenticates it, and the key its seals are made with."""

    user: str
    key: bytes = field(repr=False)


class Queue(Protocol):
    def enqueue(self, key: Key, *, bulk: bool = False) -> None: ...
    def enqueue_at(self, key: Key, when: datetime) -> None: ...
    def enqueue_after(self, key: Key, delay: timedelta) -> None: ...


def key_of(obj: Resource) -> Key:
    return obj.kind, obj.namespace, obj.name


@dataclass(frozen=True)
class Context:
    kube: Kube
    settings: Settings
    identity: Identity
    clock: Clock
    cache: Cache
    queue: Queue
    status: StatusWriter
    recorder: EventRecorder
    ledger: SealLedger
    metrics: Metrics
    log: logging.Logger
    # Decisions that count a Safe's grants (exclusive check-out, a per-user limit) run one at a time per
    # Safe, from reading the grants to creating the new one.
    safe_locks: KeyedLocks = field(default_factory=KeyedLocks)
    readers: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=8, thread_name_prefix="strongroom-read"))

    def together(self, *reads: Callable[[], Any]) -> list[Any]:
        """Run independent reads at once; their results in order (the first error is raised)."""
        futures = [self.readers.submit(read) for read in reads]
        return [future.result() for future in futures]
