"""Loaded at start by an operator child process of the crash tests (the test puts this folder first on
its PYTHONPATH): ends the process on the spot, as a kill would, when the rotation step named by
STRONGROOM_TEST_STOP_AT is reached. The operator only logs its steps; stopping is the test's doing."""

from __future__ import annotations

import logging
import os

STOP_AT = "STRONGROOM_TEST_STOP_AT"
STOPPED = 86  # the exit code that says: stopped here, at the step asked for


class _StopAt(logging.Handler):
    def __init__(self, step: str) -> None:
        super().__init__(logging.DEBUG)
        self.step = step

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage() == self.step:
            os._exit(STOPPED)


if os.environ.get(STOP_AT):
    _steps = logging.getLogger("strongroom.rotation.steps")
    _steps.setLevel(logging.DEBUG)
    _steps.addHandler(_StopAt(os.environ[STOP_AT]))
