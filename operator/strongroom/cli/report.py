"""`strongroom report`: the audit trail as a table, JSON or CSV, read as the auditor (never a Secret)."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from pydantic import ValidationError

from strongroom.api.accessrequest import AccessRequest
from strongroom.api.group import GROUP, VERSION
from strongroom.api.safe import SafeSpec
from strongroom.cli.errors import EXIT_FORBIDDEN, EXIT_USAGE, CliError
from strongroom.cli.exports import context_option, kubeconfig_option
from strongroom.cli.output import emit
from strongroom.cli.text import printable
from strongroom.kube.client import api_client
from strongroom.recovery.audit import COLUMNS, Key, report_rows
from strongroom.recovery.restore import HISTORY_CONFIGMAP
from strongroom.recovery.tables import to_csv

TABLE_COLUMNS = {"NAMESPACE": "namespace", "REQUEST": "request", "SAFE": "safe", "ACCOUNT": "account",
                 "REQUESTER": "requester", "PHASE": "phase", "APPROVED BY": "approvedBy", "DENIED BY": "deniedBy",
                 "IGNORED REVIEWS": "ignoredReviews", "ACCESS START": "accessStart", "ACCESS END": "accessEnd"}


def _when(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise CliError(f"{option}: {value!r} is not a date or time like 2026-01-31 or 2026-01-31T12:00:00Z",
                       EXIT_USAGE) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.now().astimezone().tzinfo)


def _requests(api: client.ApiClient, namespace: str) -> list[tuple[AccessRequest, str]]:
    """Live requests, then restored history, of one namespace. A Secret is never read."""
    items = client.CustomObjectsApi(api).list_namespaced_custom_object(GROUP, VERSION, namespace,
                                                                       "accessrequests")["items"]
    found = [(AccessRequest.from_object(item), "live") for item in items]
    try:
        history = client.CoreV1Api(api).read_namespaced_config_map(HISTORY_CONFIGMAP, namespace)
    except ApiException as exc:
        if exc.status not in (403, 404):
            raise
        return found
    live = {r.name for r, _ in found}
    restored = json.loads((history.data or {}).get("accessrequests.json", "[]"))
    return found + [(AccessRequest.from_object(r), "restored") for r in restored
                    if r["metadata"]["name"] not in live]


def _listed(api: client.ApiClient, namespace: str, plural: str) -> list[dict[str, Any]]:
    try:
        return client.CustomObjectsApi(api).list_namespaced_custom_object(GROUP, VERSION, namespace, plural)["items"]
    except ApiException:
        return []  # not readable by this auditor: the report says what it cannot tell without them


def _safes_of(api: client.ApiClient, namespaces: set[str]) -> tuple[dict[Key, str], dict[Key, SafeSpec]]:
    """(account namespace, name) -> Safe name, and (namespace, Safe name) -> its spec, for the vault
    namespaces the caller may read."""
    safe_of: dict[Key, str] = {}
    policies: dict[Key, SafeSpec] = {}
    for ns in namespaces:
        safe_of |= {(ns, a["metadata"]["name"]): a["spec"]["safe"] for a in _listed(api, ns, "accounts")}
        for item in _listed(api, ns, "safes"):
            try:
                policies[(ns, item["metadata"]["name"])] = SafeSpec.model_validate(item["spec"])
            except ValidationError:
                continue  # a Safe this version cannot read: its requests' reviews are checked without it
    return safe_of, policies


@click.command()
@kubeconfig_option
@context_option
@click.option("-n", "--namespace", "namespaces", multiple=True, required=True,
              help="Namespace whose requests to report (repeatable).")
@click.option("--safe", help="Only requests for this Safe's accounts.")
@click.option("--account", help="Only requests for this Account (name or namespace/name).")
@click.option("--user", help="Only requests by this user (as claimed: unverified claims are listed, marked so).")
@click.option("--since", help="Only requests made at or after this time (RFC 3339 or a date).")
@click.option("--until", help="Only requests made before this time.")
@click.option("-o", "--output", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
def report(kubeconfig: Path | None, context: str | None, namespaces: tuple[str, ...], safe: str | None,  # noqa: PLR0917
           account: str | None, user: str | None, since: str | None, until: str | None, output: str) -> None:
    """Who requested what, whose approvals counted (and which reviews did not, and why), when access started
    and ended."""
    period = _when(since, "--since"), _when(until, "--until")
    with api_client(kubeconfig, context) as api:
        try:
            requests = [pair for ns in namespaces for pair in _requests(api, ns)]
        except ApiException as exc:
            raise CliError(f"the API server refused to list requests ({exc.status} {exc.reason})",
                           EXIT_FORBIDDEN if exc.status == 403 else 1) from None
        safe_of, policies = _safes_of(api, {r.spec.account.namespace for r, _ in requests})
    rows = report_rows(requests, safe_of, policies=policies, safe=safe, account=account, user=user,
                       since=period[0], until=period[1])
    if output == "csv":
        # Exact data for a file or a pipe; on a terminal a person reads it, so what people wrote is made printable.
        shown = [{k: printable(v) for k, v in row.items()} for row in rows] if sys.stdout.isatty() else rows
        sys.stdout.write(to_csv(COLUMNS, shown))
    else:
        emit(rows, output, TABLE_COLUMNS, rows, "no requests match")
