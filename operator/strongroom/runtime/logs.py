"""One JSON object per log line: what changed, once. kopf's and aiohttp's own chatter is kept to
warnings, and their repeats are held back: a quiet operator writes nothing, and an API server that is
away costs a line per cause, not one per retry."""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime

# The same warning from a library says nothing new within this many seconds.
REPEAT_WINDOW = 60.0
_NUMBERS = re.compile(r"\d+")


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["traceback"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


class Repeats(logging.Filter):
    """Lets a library's message through once per `window` seconds; messages that differ only in their
    numbers ("attempt #3/9", a port, a count) or in the URL they end with are the same message.
    Strongroom's own lines pass: they are written once per change already."""

    def __init__(self, window: float = REPEAT_WINDOW, monotonic: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self._window = window
        self._monotonic = monotonic
        self._last: dict[tuple[str, str], float] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "strongroom" or record.name.startswith("strongroom."):
            return True
        shape = (record.name, _NUMBERS.sub("#", str(record.msg)).split("://")[0][:120])  # up to a URL
        now = self._monotonic()
        if now - self._last.get(shape, -self._window) < self._window:
            return False
        if len(self._last) > 1000:  # shapes of messages long gone
            self._last = {k: v for k, v in self._last.items() if now - v < self._window}
        self._last[shape] = now
        return True


def configure(level: int = logging.INFO) -> logging.Logger:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonLines())
    handler.addFilter(Repeats())  # on the handler: a logger's filter would not see its children's records
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("kopf", "aiohttp", "asyncio", "kubernetes"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # urllib3 warns of every retry of every call; the operator says once what failed and why.
    logging.getLogger("urllib3").setLevel(logging.ERROR)
    return logging.getLogger("strongroom")
