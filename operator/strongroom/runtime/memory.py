"""Handing freed memory back to the system. CPython's allocator returns large blocks to glibc's heap,
which keeps them: after a burst (the listing at start, a wave of expiries) the process would hold
its peak for good. Asking glibc to trim once the work is done keeps the resident size near what the
caches hold."""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable


def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to trim
        return None


_TRIM = _malloc_trim()


def release_freed() -> bool:
    """Return freed heap memory to the system; False where the C library cannot."""
    return bool(_TRIM is not None and _TRIM(0))
