"""One lock per key, kept only while somebody holds a reference to it, so that the handlers of one
object (a Grant's daemon and its safety-net timer) never act on it at the same time."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Hashable


class KeyedLocks:
    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: weakref.WeakValueDictionary[Hashable, threading.Lock] = weakref.WeakValueDictionary()

    def lock(self, key: Hashable) -> threading.Lock:
        """The lock of `key`; keep the returned object while using it (an unreferenced lock is dropped)."""
        with self._guard:
            found = self._locks.get(key)
            if found is None:
                found = self._locks[key] = threading.Lock()
            return found

    def __len__(self) -> int:
        return len(self._locks)
