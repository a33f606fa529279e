"""Waiting for the cluster to reach a state, with a deadline and the last observation in the failure.

Only "not yet" is retried: a falsy answer, an API error (the object is not there yet, a conflict), a
missing key or index (a status not written yet). Anything else, an AssertionError, a typo in the
probe, is raised at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from kubernetes.client.exceptions import ApiException

T = TypeVar("T")
NOT_YET = (ApiException, KeyError, IndexError)


def eventually(probe: Callable[[], T], timeout: float = 30, interval: float = 0.05, what: str = "") -> T:
    """Call `probe` until it returns something truthy; fail with its last result after `timeout` s."""
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            last = probe()
        except NOT_YET as exc:
            last = exc
        else:
            if last:
                return last
        if time.monotonic() > deadline:
            raise AssertionError(f"not {what or 'true'} within {timeout}s; last: {last!r}")
        time.sleep(interval)
