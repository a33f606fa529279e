"""The one-line errors the command line prints, and the exit codes scripts can rely on."""

from __future__ import annotations

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_FORBIDDEN = 3
EXIT_NOT_FOUND = 4
EXIT_TIMEOUT = 5


class CliError(Exception):
    """Printed as `error: <message>` with its exit code, never as a traceback."""

    def __init__(self, message: str, exit_code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.exit_code = exit_code
