"""`strongroom rotate ACCOUNT`: ask the operator to rotate an Account's password now, as the person.

Declarative: the command sets `spec.rotation.requestedAt` (safe-admins may patch Accounts) and the
operator rotates and reports in `status.rotation`; `--wait` follows it to the result.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import click
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from strongroom.api.common import format_time
from strongroom.api.group import GROUP, VERSION
from strongroom.cli.errors import EXIT_FORBIDDEN, EXIT_NOT_FOUND, EXIT_TIMEOUT, CliError
from strongroom.cli.output import emit
from strongroom.cli.session import Session, session_options

POLL = 0.5


def _account_error(exc: ApiException, namespace: str, name: str) -> CliError:
    if exc.status == 404:
        return CliError(f"account {namespace}/{name} does not exist", EXIT_NOT_FOUND)
    if exc.status == 403:
        return CliError(f"you may not rotate account {namespace}/{name}: it takes the strongroom-safe-admin role "
                        f"in namespace {namespace}", EXIT_FORBIDDEN)
    return CliError(f"account {namespace}/{name}: {exc.reason}")


def request_rotation(api: client.ApiClient, namespace: str, name: str, now: datetime) -> datetime:
    """Set requestedAt on the Account; return the time asked for. Refuses an Account without rotation."""
    objects = client.CustomObjectsApi(api)
    try:
        account = objects.get_namespaced_custom_object(GROUP, VERSION, namespace, "accounts", name)
        if not account["spec"].get("rotation"):
            raise CliError(f"account {namespace}/{name} has no spec.rotation; add one to say how to rotate it")
        # Whole seconds: the stored time has no fraction, and lastRotated must compare as later.
        asked = now.replace(microsecond=0)
        objects.patch_namespaced_custom_object(GROUP, VERSION, namespace, "accounts", name,
                                               {"spec": {"rotation": {"requestedAt": format_time(asked)}}})
    except ApiException as exc:
        raise _account_error(exc, namespace, name) from None
    return asked


def wait_for_rotation(api: client.ApiClient, namespace: str, name: str, asked: datetime, timeout: float
                      ) -> dict[str, Any]:
    """The Account's status.rotation once it reports a result for the request (or raise on timeout)."""
    objects = client.CustomObjectsApi(api)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = (objects.get_namespaced_custom_object(GROUP, VERSION, namespace, "accounts", name)
                  .get("status") or {}).get("rotation") or {}
        attempt = status.get("lastAttempt")
        if attempt and datetime.fromisoformat(attempt.replace("Z", "+00:00")) >= asked:
            return status
        time.sleep(POLL)
    raise CliError(f"account {namespace}/{name} was not rotated within {timeout:.0f}s", EXIT_TIMEOUT)


@click.command()
@session_options("json", "yaml")
@click.argument("account")
@click.option("--wait", is_flag=True, help="Wait for the result and print it.")
@click.option("--timeout", type=float, default=60, show_default=True, help="Seconds to wait with --wait.")
def rotate(session: Session, account: str, *, wait: bool, timeout: float) -> None:
    """Rotate ACCOUNT's password now (safe-admins; -n is the Account's vault namespace)."""
    namespace = session.namespace
    asked = request_rotation(session.api, namespace, account, datetime.now(UTC))
    if not wait:
        click.echo(f"rotation of {namespace}/{account} requested", err=True)
        emit({"account": f"{namespace}/{account}", "requestedAt": format_time(asked)}, session.output,
             {"ACCOUNT": "account", "REQUESTED": "requestedAt"},
             [{"account": f"{namespace}/{account}", "requestedAt": format_time(asked)}])
        return
    status = wait_for_rotation(session.api, namespace, account, asked, timeout)
    if status.get("lastResult") != "Succeeded":
        raise CliError(f"rotation of {namespace}/{account} failed: {status.get('message', '')}")
    click.echo(f"{namespace}/{account} rotated at {status['lastRotated']}", err=True)
    emit(status, session.output, {"ACCOUNT": "account", "ROTATED": "lastRotated", "RESULT": "lastResult"},
         [{"account": f"{namespace}/{account}", **status}])
