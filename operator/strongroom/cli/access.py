"""The people's commands: request, pending, approve, deny, release, revoke, status, history, wait,
credentials, accounts. Each reads as the person, decides with `strongroom.cli.views`, and writes as them."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import click
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from strongroom.api.common import format_time
from strongroom.api.group import GROUP, VERSION
from strongroom.api.phases import AccessRequestPhase
from strongroom.api.safe import SafeSpec
from strongroom.cli import views
from strongroom.cli.errors import EXIT_ENDED, EXIT_FORBIDDEN, EXIT_TIMEOUT, EXIT_USAGE, CliError, api_error
from strongroom.cli.output import emit, say
from strongroom.cli.session import Session, session_options
from strongroom.cli.text import printable
from strongroom.policy.approvals import is_approver
from strongroom.policy.durations import parse_duration

T = TypeVar("T")
Key = tuple[str, str]
POLL_SECONDS = 0.5


def _call(doing: str, call: Callable[[], T]) -> T:
    try:
        return call()
    except ApiException as exc:
        raise api_error(exc, doing) from exc


def _objects(session: Session) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(session.api)


def _get(session: Session, plural: str, name: str, namespace: str | None = None) -> dict[str, Any]:
    ns = namespace or session.namespace
    singular = plural.rstrip("s")
    return _call(f"read {singular} {name} in namespace {ns}",
                 lambda: _objects(session).get_namespaced_custom_object(GROUP, VERSION, ns, plural, name))


def _list_all(session: Session, plural: str) -> list[dict[str, Any]]:
    """Every object of a kind the person may list cluster-wide, else those in their namespace."""
    objects = _objects(session)
    try:
        return objects.list_cluster_custom_object(GROUP, VERSION, plural)["items"]
    except ApiException as exc:
        if exc.status != 403:
            raise api_error(exc, f"list {plural}") from exc
    return _call(f"list {plural} in namespace {session.namespace}", lambda: objects.list_namespaced_custom_object(
        GROUP, VERSION, session.namespace, plural)["items"])


def _by_key(items: list[dict[str, Any]]) -> dict[Key, dict[str, Any]]:
    return {(item["metadata"]["namespace"], item["metadata"]["name"]): item for item in items}


def _show_requests(session: Session, requests: list[dict[str, Any]], empty: str) -> None:
    emit(requests, session.output, views.REQUEST_COLUMNS, [views.request_row(r) for r in requests], empty)


def _show_request(session: Session, request_obj: dict[str, Any], said: str = "") -> None:
    if said:
        say(said, err=True)
    emit(request_obj, session.output, views.REQUEST_COLUMNS, [views.request_row(request_obj)])


def _usage(call: Callable[[], T]) -> T:
    try:
        return call()
    except ValueError as exc:
        raise CliError(str(exc), EXIT_USAGE) from exc


@click.command()
@session_options("json", "yaml")
@click.argument("account")
@click.option("--reason", help="Why you need access (some Safes require it).")
@click.option("--ticket", help="A change or incident ticket (some Safes require it).")
@click.option("--for", "duration", metavar="DURATION", help='How long, counted from activation, e.g. "30m", "1h30m".')
@click.option("--from", "start", metavar="TIME", help="Start of a future window (RFC 3339).")
@click.option("--until", "end", metavar="TIME", help="End of the window (RFC 3339).")
@click.option("--name", help="The request's name (default: generated).")
@click.option("--wait", is_flag=True, help="Wait until access is active (or the request ends) and say so.")
@click.option("--timeout", default="15m", show_default=True, help="How long --wait waits.")
def request(session: Session, *, account: str, reason: str | None, ticket: str | None, duration: str | None,
            start: str | None, end: str | None, name: str | None, wait: bool, timeout: str) -> None:
    """Ask for ACCOUNT (NAMESPACE/NAME, or NAME when unique) in your namespace."""
    visible = [] if "/" in account else _list_all(session, "accounts")
    key = _usage(lambda: views.split_account(account, visible))
    spec = _usage(lambda: views.request_spec(key, reason=reason, ticket=ticket, duration=duration,
                                             start=start, end=end))
    metadata = {"name": name} if name else {"generateName": f"{key[1]}-"}
    body = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "AccessRequest", "metadata": metadata, "spec": spec}
    created = _call(f"request {key[0]}/{key[1]} in namespace {session.namespace}",
                    lambda: _objects(session).create_namespaced_custom_object(
                        GROUP, VERSION, session.namespace, "accessrequests", body))
    say(f"request {created['metadata']['name']} filed in {session.namespace} for {key[0]}/{key[1]}", err=True)
    if wait:
        created = _wait(session, created["metadata"]["name"], "active", timeout)
    _show_request(session, created)


@click.command()
@session_options("json", "yaml")
def pending(session: Session) -> None:
    """Requests waiting for your review: others' pending requests for Safes that name you an approver."""
    user, groups = session.identity
    safes = _by_key(_list_all(session, "safes"))
    accounts = _by_key(_list_all(session, "accounts"))
    namespaces = views.approver_namespaces(safes.values(), user, groups) | {session.namespace}
    requests: list[dict[str, Any]] = []
    for namespace in sorted(namespaces):
        try:
            requests += _objects(session).list_namespaced_custom_object(
                GROUP, VERSION, namespace, "accessrequests")["items"]
        except ApiException as exc:
            if exc.status not in (403, 404):  # namespaces I cannot read hold nothing I can review
                raise api_error(exc, f"list requests in namespace {namespace}") from exc
    _show_requests(session, views.awaiting(requests, accounts, safes, user, groups), "nothing awaits your review")


def _review(session: Session, name: str, review: dict[str, Any]) -> dict[str, Any]:
    request_obj = _get(session, "accessrequests", name)
    user, groups = session.identity
    if request_obj["spec"].get("requester") == user:
        raise CliError(f"you cannot review your own request {name}", EXIT_FORBIDDEN)
    vault, account_name = views.account_key(request_obj)
    account = _get(session, "accounts", account_name, vault)
    safe = _get(session, "safes", account["spec"]["safe"], vault)
    if not is_approver(SafeSpec.model_validate(safe["spec"]).approvers, user, groups):
        raise CliError(f"you are not an approver of safe {safe['metadata']['name']} in namespace {vault}",
                       EXIT_FORBIDDEN)
    status = request_obj.get("status")
    op = ({"op": "add", "path": "/status", "value": {"reviews": [review]}} if status is None else
          {"op": "add", "path": "/status/reviews/-", "value": review} if status.get("reviews") else
          {"op": "add", "path": "/status/reviews", "value": [review]})
    return _call(f"review request {name} in namespace {session.namespace}",
                 lambda: _objects(session).patch_namespaced_custom_object_status(
                     GROUP, VERSION, session.namespace, "accessrequests", name, [op],
                     _content_type="application/json-patch+json"))


@click.command()
@session_options("json", "yaml")
@click.argument("name")
@click.option("--comment", help="Why you approve.")
@click.option("--until", "until", metavar="TIME", help="End access earlier than asked (RFC 3339; narrowing only).")
def approve(session: Session, name: str, comment: str | None, until: str | None) -> None:
    """Approve request NAME in your namespace (-n)."""
    review: dict[str, Any] = {"decision": "Approve"}
    if comment:
        review["comment"] = comment
    if until:
        review["notAfter"] = format_time(_usage(lambda: views.parse_time(until)))
    updated = _review(session, name, review)
    _show_request(session, updated, f"approved {name}")


@click.command()
@session_options("json", "yaml")
@click.argument("name")
@click.option("--comment", required=True, help="Why you deny (the requester sees it).")
def deny(session: Session, name: str, comment: str) -> None:
    """Deny request NAME in your namespace (-n); one denial ends it."""
    updated = _review(session, name, {"decision": "Deny", "comment": comment})
    _show_request(session, updated, f"denied {name}")


@click.command()
@session_options("json", "yaml")
@click.argument("name")
def release(session: Session, name: str) -> None:
    """End your access of request NAME now (check-in)."""
    updated = _call(f"release request {name} in namespace {session.namespace}",
                    lambda: _objects(session).patch_namespaced_custom_object(
                        GROUP, VERSION, session.namespace, "accessrequests", name, {"spec": {"release": True}}))
    _show_request(session, updated, f"released {name}")


@click.command()
@session_options("json", "yaml")
@click.argument("grant")
def revoke(session: Session, grant: str) -> None:
    """Revoke GRANT in your namespace (-n) now (admins): its Secret is deleted at once."""
    _call(f"revoke grant {grant} in namespace {session.namespace} (only admins can)",
          lambda: _objects(session).delete_namespaced_custom_object(
              GROUP, VERSION, session.namespace, "grants", grant))
    say(f"revoked {grant}", err=True)
    emit({"revoked": grant, "namespace": session.namespace}, session.output)


@click.command()
@session_options("json", "yaml")
@click.argument("name", required=False)
def status(session: Session, name: str | None) -> None:
    """Request NAME (with its conditions), or every request in your namespace (-n)."""
    if not name:
        found = _call(f"list requests in namespace {session.namespace}", lambda: _objects(
            session).list_namespaced_custom_object(GROUP, VERSION, session.namespace, "accessrequests")["items"])
        _show_requests(session, found, f"no requests in namespace {session.namespace}")
        return
    one = _get(session, "accessrequests", name)
    _show_request(session, one)
    if session.output == "table":
        for condition in (one.get("status") or {}).get("conditions") or []:
            say(f"  {condition['type']}={condition['status']} {condition.get('reason', '')}: "
                f"{condition.get('message', '')}")


@click.command()
@session_options("json", "yaml")
@click.argument("name")
def history(session: Session, name: str) -> None:
    """Who did what to request NAME, and when."""
    rows = views.history_rows(_get(session, "accessrequests", name))
    emit(rows, session.output, views.HISTORY_COLUMNS, rows, f"no history recorded for {name} yet")


def _reached(request_obj: dict[str, Any], target: str) -> bool:
    phase = views.phase(request_obj)
    return phase in views.FINISHED if target == "finished" else phase == AccessRequestPhase.ACTIVE


def _wait(session: Session, name: str, target: str, timeout: str) -> dict[str, Any]:
    """Poll until the request reaches `target`, showing a progress line on stderr."""
    limit = _usage(lambda: parse_duration(timeout)).total_seconds()
    started = time.monotonic()
    tty = click.get_text_stream("stderr").isatty()
    last = ""
    while True:
        current = _get(session, "accessrequests", name)
        row = views.request_row(current)
        line = printable(f"{name}: {row['phase']}, {row['approvals']} approvals ({time.monotonic() - started:.0f}s)")
        if tty:
            click.echo(f"\r{line}   ", nl=False, err=True)
        elif line.rsplit(" (", 1)[0] != last:  # in logs, one line per change
            click.echo(line, err=True)
            last = line.rsplit(" (", 1)[0]
        if _reached(current, target):
            say("" if tty else f"{name} is {row['phase']}", err=True)
            return current
        if target == "active" and views.phase(current) in views.FINISHED:
            if tty:
                click.echo("", err=True)
            raise CliError(f"request {name} ended {row['phase']} without access", EXIT_ENDED)
        if time.monotonic() - started > limit:
            if tty:
                click.echo("", err=True)
            raise CliError(f"request {name} is still {row['phase']} after {timeout}; "
                           f"try again with a longer --timeout", EXIT_TIMEOUT)
        time.sleep(POLL_SECONDS)


@click.command()
@session_options("json", "yaml")
@click.argument("name")
@click.option("--for", "target", type=click.Choice(["active", "finished"]), default="active", show_default=True)
@click.option("--timeout", default="15m", show_default=True, help='How long to wait, e.g. "90s", "10m".')
def wait(session: Session, name: str, target: str, timeout: str) -> None:
    """Wait until request NAME is active (or finished); exit 5 on timeout, 6 if it ends without access."""
    reached = _wait(session, name, target, timeout)
    _show_request(session, reached)


@click.command()
@session_options("json", "env")
@click.argument("name")
@click.option("--prefix", default="STRONGROOM_", show_default=True, help="Prefix of the variables for -o env.")
def credentials(session: Session, name: str, prefix: str) -> None:
    """The credential delivered for your own active request NAME (-o env for `eval`)."""
    request_obj = _get(session, "accessrequests", name)
    if request_obj["spec"].get("requester") != session.user:
        # main prints errors as they are, so the stored name is made printable here
        raise CliError(f"request {name} is {printable(str(request_obj['spec'].get('requester')))}'s, not yours",
                       EXIT_FORBIDDEN)
    status_ = request_obj.get("status") or {}
    if views.phase(request_obj) != AccessRequestPhase.ACTIVE or not status_.get("secretName"):
        raise CliError(f"request {name} is {views.phase(request_obj)}, not Active: no credential to show; "
                       f"`strongroom wait {name}` waits for it", EXIT_ENDED)
    secret = _call(f"read Secret {status_['secretName']} in namespace {session.namespace}",
                   lambda: client.CoreV1Api(session.api).read_namespaced_secret(
                       status_["secretName"], session.namespace))
    data = {key: base64.b64decode(value).decode() for key, value in (secret.data or {}).items()}
    if session.output == "env":
        click.echo(views.environment(data, prefix))
        return
    rows = [{"key": key, "value": value} for key, value in sorted(data.items())]
    emit(data, session.output, {"KEY": "key", "VALUE": "value"}, rows)
    if session.output == "table":
        say(f"valid until {status_.get('notAfter')}", err=True)


@click.command()
@session_options("json", "yaml")
def accounts(session: Session) -> None:
    """The Accounts you may request, and whether you may right now (into your namespace, -n)."""
    user, groups = session.identity
    safes = _by_key(_list_all(session, "safes"))
    try:
        labels = client.CoreV1Api(session.api).read_namespace(session.namespace).metadata.labels or {}
    except ApiException:
        labels = {}  # people often cannot read namespaces; a label selector then reads as "no"
    rows = views.account_rows(_list_all(session, "accounts"), safes, user, groups, namespace=session.namespace,
                              namespace_labels=labels, now=datetime.now(UTC))
    emit(rows, session.output, views.ACCOUNT_COLUMNS, rows, "no accounts you may request")


COMMANDS = [request, pending, approve, deny, release, revoke, status, history, wait, credentials, accounts]
