"""The one-line errors the command line prints, and the exit codes scripts can rely on."""

from __future__ import annotations

import json

from kubernetes.client.exceptions import ApiException

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
EXIT_ENDED = 6  # `wait`: the request ended without reaching what was waited for


def api_error(exc: ApiException, doing: str) -> CliError:
    """An API server refusal as one line: what was being done, and why it was refused."""
    reason = _reason(exc)
    if exc.status == 403:
        return CliError(f"you may not {doing}: {reason}", EXIT_FORBIDDEN)
    if exc.status == 404:
        return CliError(f"cannot {doing}: not found", EXIT_NOT_FOUND)
    return CliError(f"cannot {doing}: {reason}")


def _reason(exc: ApiException) -> str:
    try:
        message = str(json.loads(exc.body or "{}").get("message") or exc.reason)
    except (ValueError, AttributeError):
        message = str(exc.reason)
    # Admission denials carry the webhook's sentence after this prefix; the sentence is what matters.
    _, _, sentence = message.partition("denied the request: ")
    return (sentence or message).splitlines()[0]
