"""The work queue: what to reconcile, when, and one at a time per object.

Watch events and the operator's own decisions `enqueue` keys; each reconcile returns the moment its
object next needs a look (a notBefore, a notAfter, an approval timeout, the end of the retention), and
one scheduler wakes exactly then. Nothing is looked at on a fixed period, so when nothing happens,
nothing runs. A key is never reconciled by two workers at once; a key enqueued while it is being
reconciled runs again right after. Failures are retried on a short, bounded backoff (an API server
that is restarting must not push a deadline back by a minute), and logged once per object and cause.

Workers only take work while this process leads (`leading`); the queue and the deadlines are kept
regardless, so a standby that takes over starts from a warm queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import json
import logging
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import urllib3
from kubernetes.client.exceptions import ApiException

from strongroom.kube.clock import Clock
from strongroom.kube.rest import is_transient

Key = tuple[str, str, str]  # (kind, namespace, name)
Reconcile = Callable[[Key], datetime | None]

# Transient failures: 0.1 s doubling to 1 s for about 15 s, then doubling to 30 s.
CONFLICT_RETRY = 0.2
QUICK_RETRIES = 20
QUICK_CAP = 1.0
SLOW_CAP = 30.0


def retry_delay(failures: int, transient: bool) -> float:
    """Seconds before the next attempt after `failures` failures in a row."""
    if transient and failures <= QUICK_RETRIES:
        return min(0.1 * 2 ** (failures - 1), QUICK_CAP)
    return min(2.0 ** max(failures - (QUICK_RETRIES if transient else 0), 0), SLOW_CAP)


def describe(error: BaseException) -> str:
    """One line that says what failed, without a traceback (and without a body that might be long)."""
    if isinstance(error, ApiException):
        said = ""
        if error.status == 403:  # who refused and why (RBAC, or an admission policy by name); never a value
            with contextlib.suppress(ValueError, TypeError, AttributeError):
                said = ": " + str(json.loads(error.body or "{}").get("message", ""))[:300]
        return f"API server answered {error.status} {error.reason}{said}"
    if isinstance(error, urllib3.exceptions.HTTPError):  # the same words for every object: no URL, no address
        return f"the API server did not answer ({type(getattr(error, 'reason', None) or error).__name__})"
    return f"{type(error).__name__}: {str(error).splitlines()[0][:300] if str(error) else ''}"


@dataclass
class _State:
    # Three lanes, taken in this order: keys whose deadline came (a Secret due to go must not wait
    # behind the follow-ups of other deadlines), keys an event or a decision asked for, the listing.
    due: deque[Key] = field(default_factory=deque)
    urgent: deque[Key] = field(default_factory=deque)
    bulk: deque[Key] = field(default_factory=deque)
    queued: set[Key] = field(default_factory=set)
    active: set[Key] = field(default_factory=set)
    dirty: set[Key] = field(default_factory=set)
    deadlines: dict[Key, datetime] = field(default_factory=dict)
    heap: list[tuple[datetime, int, Key]] = field(default_factory=list)
    # Deadlines asked for while the key was being reconciled: its answer must not drop them.
    asked: dict[Key, datetime] = field(default_factory=dict)
    failures: dict[Key, int] = field(default_factory=dict)
    logged: dict[Key, str] = field(default_factory=dict)
    # Transient causes said once for every object since the last success (an API server that is away).
    outage: dict[str, int] = field(default_factory=dict)


class Manager:
    def __init__(self, clock: Clock, reconcilers: dict[str, Reconcile], *, workers: int = 16,
                 log: logging.Logger | None = None,
                 on_error: Callable[[str, str], None] | None = None) -> None:
        self._clock = clock
        self._reconcilers = reconcilers
        self._workers = workers
        self._log = log or logging.getLogger("strongroom.manager")
        self._on_error = on_error
        self._state = _State()
        self._seq = itertools.count()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._guard = threading.Lock()  # the state is touched from the loop and from worker threads
        self._work = asyncio.Event()  # created unbound; bound to the loop on first await (3.10+)
        self._wake = asyncio.Event()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="strongroom-reconcile")
        self.reconciled = 0  # how many reconciles ran (for the health of the process and the tests)

    def handle(self, kind: str, reconcile: Reconcile) -> None:
        """Reconcile keys of `kind` with `reconcile` (registered once, before `run`)."""
        self._reconcilers[kind] = reconcile

    # -- asking for work (any thread) -----------------------------------------------------------

    def enqueue(self, key: Key, *, bulk: bool = False, due: bool = False) -> None:
        """Reconcile `key` as soon as a worker is free (`bulk`: after everything urgent; `due`: its
        deadline came, before everything else)."""
        with self._guard:
            state = self._state
            if key in state.active:
                state.dirty.add(key)
                return
            if key in state.queued:
                return
            state.queued.add(key)
            (state.due if due else state.bulk if bulk else state.urgent).append(key)
        self._signal(self._work)

    def enqueue_at(self, key: Key, when: datetime) -> None:
        """Reconcile `key` at `when` (or earlier, if it already has an earlier deadline)."""
        with self._guard:
            state = self._state
            if key in state.active:
                state.asked[key] = min(when, state.asked.get(key, when))
                return
            current = state.deadlines.get(key)
            if current is not None and current <= when:
                return
            self._set_deadline(key, when)
        self._signal(self._wake)

    def enqueue_after(self, key: Key, delay: timedelta) -> None:
        self.enqueue_at(key, self._clock.now() + delay)

    def retry_failed(self) -> None:
        """Try everything that failed again now, not at its backoff: what refused it has gone (the
        fence names this replica again)."""
        with self._guard:
            failed = list(self._state.failures)
        for key in failed:
            self.enqueue(key)

    def deadline(self, key: Key) -> datetime | None:
        with self._guard:
            return self._state.deadlines.get(key)

    def idle(self, within: timedelta = timedelta(0)) -> bool:
        """Nothing queued or running, and no deadline due (or due `within` from now): the state only
        changes by new events or time."""
        now = self._clock.now() + within
        with self._guard:
            state = self._state
            return not (state.queued or state.active or state.dirty) and all(
                when > now for when in state.deadlines.values())

    def pending(self) -> int:
        with self._guard:
            return len(self._state.queued) + len(self._state.active)

    def _set_deadline(self, key: Key, when: datetime | None) -> None:
        # Caller holds the guard. The heap keeps superseded entries; they are skipped when popped.
        if when is None:
            self._state.deadlines.pop(key, None)
            return
        self._state.deadlines[key] = when
        heapq.heappush(self._state.heap, (when, next(self._seq), key))

    def _signal(self, event: asyncio.Event) -> None:
        loop = self._loop
        if loop is None:
            return  # not running yet: `run` looks at the queue first thing
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            event.set()
        else:
            loop.call_soon_threadsafe(event.set)

    # -- running ---------------------------------------------------------------------------------

    async def run(self, leading: asyncio.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._work.set()
        self._wake.set()
        tasks = [asyncio.create_task(self._scheduler(leading), name="strongroom-scheduler")]
        tasks += [asyncio.create_task(self._worker(leading), name=f"strongroom-worker-{i}")
                  for i in range(self._workers)]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            self._pool.shutdown(wait=False, cancel_futures=True)

    async def _scheduler(self, leading: asyncio.Event) -> None:
        while True:
            self._wake.clear()
            following = self.fire_due()
            if following is None:
                await self._wake.wait()
            else:
                await self._clock.sleep_until(following, self._wake)

    def fire_due(self) -> datetime | None:
        """Queue every key whose deadline has come, ahead of the rest; the next deadline after them."""
        due: list[Key] = []
        with self._guard:
            now = self._clock.now()
            heap = self._state.heap
            while heap and (heap[0][0] <= now or self._state.deadlines.get(heap[0][2]) != heap[0][0]):
                when, _, key = heapq.heappop(heap)
                if self._state.deadlines.get(key) == when:
                    del self._state.deadlines[key]
                    due.append(key)
            following = heap[0][0] if heap else None
        for key in due:
            self.enqueue(key, due=True)
        return following

    def take(self) -> Key | None:
        """The next key to reconcile (marked as being reconciled), or None when nothing is queued."""
        with self._guard:
            state = self._state
            queue = state.due or state.urgent or state.bulk
            if not queue:
                return None
            key = queue.popleft()
            state.queued.discard(key)
            state.active.add(key)
            return key

    async def _worker(self, leading: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await leading.wait()
            key = self.take()
            if key is None:
                self._work.clear()
                if not self._state.queued:  # every key in a lane, whichever lane
                    await self._work.wait()
                continue
            following = await loop.run_in_executor(self._pool, self._reconcile, key)
            with self._guard:
                state = self._state
                state.active.discard(key)
                again = key in state.dirty
                state.dirty.discard(key)
                asked = state.asked.pop(key, None)
                if asked is not None:
                    following = min(following, asked) if following is not None else asked
                self._set_deadline(key, following)
            self._wake.set()
            if again:
                self.enqueue(key)

    def _reconcile(self, key: Key) -> datetime | None:
        """Run the reconciler; its answer is the key's next deadline (None: none)."""
        try:
            following = self._reconcilers[key[0]](key)
        except ApiException as refused:
            if refused.status == 404:
                following = None  # deleted while we looked: its watch event ends the story
            elif refused.status == 409:
                # Somebody wrote it first; the watch event of their write brings a look at the newer
                # object. A quick look again anyway, without a word: it is how optimistic writes work.
                return self._clock.now() + timedelta(seconds=CONFLICT_RETRY)
            else:
                return self._failed(key, refused)
        except Exception as error:  # one object's failure must not stop the others
            return self._failed(key, error)
        finally:
            self.reconciled += 1
        with self._guard:
            self._state.failures.pop(key, None)
            self._state.logged.pop(key, None)
            outage, self._state.outage = self._state.outage, {}
        if outage:
            self._log.info("ReconcileRecovered: the API server answers again after " +
                           "; ".join(f"{count} object(s) failed with {cause}" for cause, count in outage.items()))
        return following

    def _failed(self, key: Key, error: Exception) -> datetime:
        transient = is_transient(error)
        cause = describe(error)
        with self._guard:
            state = self._state
            failures = state.failures[key] = state.failures.get(key, 0) + 1
            first = state.logged.get(key) != cause
            state.logged[key] = cause
            if transient and first:  # one line per transient cause for all objects, until a success
                first = cause not in state.outage
                state.outage[cause] = state.outage.get(cause, 0) + 1
        delay = retry_delay(failures, transient)
        where = f"{key[0]} {key[1]}/{key[2]}"
        if first:  # one line per object and cause; the traceback once, and only for the unexpected
            self._log.warning(f"ReconcileFailed: {where}: {cause}; retrying in {delay:.1f}s",
                              exc_info=None if transient else error)
        if self._on_error is not None:
            self._on_error(key[0], "transient" if transient else type(error).__name__)
        return self._clock.now() + timedelta(seconds=delay)
