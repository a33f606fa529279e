"""The log's repeat filter: a library's warning once per window (numbers aside); Strongroom's own lines always."""

from __future__ import annotations

import logging

from strongroom.runtime.logs import Repeats


def record(name: str, message: str) -> logging.LogRecord:
    return logging.LogRecord(name, logging.ERROR, __file__, 1, message, None, None)


def test_a_librarys_repeats_are_held_back_for_the_window_and_strongrooms_lines_never() -> None:
    now = [0.0]
    repeats = Repeats(window=60, monotonic=lambda: now[0])
    assert repeats.filter(record("kopf._core.reactor", "Request attempt #1/9 failed; will retry: GET https://h/grants"))
    assert not repeats.filter(record("kopf._core.reactor", "Request attempt #2/9 failed; will retry: GET https://h/safes"))
    assert repeats.filter(record("kopf._core.reactor", "Request attempt #9/9 failed; escalating: GET https://h/safes"))
    assert repeats.filter(record("kopf._core.reactor", "Watch stream closed"))  # another message
    # the same words from another logger
    assert repeats.filter(record("aiohttp.access", "Request attempt #2/9 failed; will retry: GET https://h/safes"))
    assert all(repeats.filter(record("strongroom", "ReconcileFailed: Grant a/b")) for _ in range(3))
    now[0] = 59.9
    assert not repeats.filter(record("kopf._core.reactor", "Request attempt #7/9 failed; will retry: GET https://h/a"))
    now[0] = 60.0
    assert repeats.filter(record("kopf._core.reactor", "Request attempt #8/9 failed; will retry: GET https://h/a"))
