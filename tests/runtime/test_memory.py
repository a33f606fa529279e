"""Freed memory goes back to the system once asked: a burst leaves holes in the C heap that glibc keeps
until trimmed (the operator trims when its queue falls idle)."""

from __future__ import annotations

import os

from strongroom.runtime.memory import release_freed


def resident() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_holes_left_by_a_burst_are_handed_back() -> None:
    # Large blocks (glibc's heap, not CPython's small-object arenas) between small survivors: the holes
    # cannot shrink the heap from its top, so only a trim returns them.
    pairs = [(bytes(8000) + os.urandom(8), bytes(600) + os.urandom(8)) for _ in range(20_000)]
    survivors = [small for _, small in pairs]
    del pairs
    before = resident()
    assert release_freed()
    freed = before - resident()
    assert freed > 40 * 2**20, f"{freed / 2**20:.0f} MB handed back"
    assert len(survivors) == 20_000
