"""Which object each requester seal was honoured for: a seal copied onto another object is not.

Every replica keeps the ledger from its watch stream (each honoured request records its binding in
its status), and the leader adds to it before it first writes a decision. An entry is kept until the
seal is stale for any object created later (its stamp plus the freshness window), so a deleted
request's seal cannot be reused by a recreated one. What no running replica saw cannot be in it:
see docs/threat-model.md for the one gap (every replica down while a request is deleted and
recreated with the webhooks and the admission policies removed).
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from strongroom.identity.signing import FRESHNESS


class SealLedger:
    def __init__(self, keep: timedelta = FRESHNESS * 2) -> None:
        self._keep = keep
        self._lock = threading.Lock()
        self._owners: dict[str, tuple[str, datetime]] = {}  # nonce -> (request uid, stamped at)

    def claim(self, nonce: str, uid: str, stamped_at: datetime) -> bool:
        """Record `nonce` as honoured for `uid`; False when it already was, for another object."""
        with self._lock:
            owner = self._owners.setdefault(nonce, (uid, stamped_at))
            return owner[0] == uid

    def owner(self, nonce: str) -> str | None:
        with self._lock:
            found = self._owners.get(nonce)
            return found[0] if found else None

    def prune(self, now: datetime) -> None:
        """Forget seals too old to verify on any object created from now on."""
        with self._lock:
            stale = [n for n, (_, stamped) in self._owners.items() if stamped + self._keep < now]
            for nonce in stale:
                del self._owners[nonce]

    def __len__(self) -> int:
        return len(self._owners)
