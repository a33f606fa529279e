"""A clock the tests move: real time plus an offset they add to. It follows real time (the API server
stamps creation times with its own clock, and seals must agree with them), and jumps ahead on
`advance`, waking whatever waits for a deadline."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from datetime import UTC, datetime, timedelta


class MovableClock:
    def __init__(self) -> None:
        self._offset = timedelta(0)
        self._lock = threading.Lock()
        self._waiting: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def advance(self, by: timedelta) -> None:
        with self._lock:
            self._offset += by
            waiting = list(self._waiting)
        for loop, wake in waiting:
            with contextlib.suppress(RuntimeError):  # a loop that has closed
                loop.call_soon_threadsafe(wake.set)

    async def sleep_until(self, when: datetime, wake: asyncio.Event) -> None:
        entry = (asyncio.get_running_loop(), wake)
        with self._lock:
            self._waiting.add(entry)
        try:
            delay = (when - self.now()).total_seconds()
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), timeout=delay)
        finally:
            with self._lock:
                self._waiting.discard(entry)
