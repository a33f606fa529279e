"""Waiting for the cluster to reach a state, with a deadline and the last observation in the failure."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def eventually(probe: Callable[[], T], timeout: float = 30, interval: float = 0.1, what: str = "") -> T:
    """Call `probe` until it returns something truthy; fail with its last result after `timeout` s."""
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            last = probe()
        except Exception as exc:  # a probe may fail while the cluster converges
            last = exc
        else:
            if last:
                return last
        if time.monotonic() > deadline:
            raise AssertionError(f"not {what or 'true'} within {timeout}s; last: {last!r}")
        time.sleep(interval)
