"""`strongroom report`: the audit trail as a table, JSON or CSV, read as the auditor (never a Secret)."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path

import click
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from rich.console import Console
from rich.table import Table

from strongroom.api.accessrequest import AccessRequest
from strongroom.api.group import GROUP, VERSION
from strongroom.cli.errors import EXIT_FORBIDDEN, EXIT_USAGE, CliError
from strongroom.cli.exports import context_option, kubeconfig_option
from strongroom.kube.client import api_client
from strongroom.recovery.audit import COLUMNS, report_rows
from strongroom.recovery.restore import HISTORY_CONFIGMAP
from strongroom.recovery.tables import to_csv


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


def _safes_of(api: client.ApiClient, namespaces: set[str]) -> dict[tuple[str, str], str]:
    """(account namespace, name) -> Safe, for the vault namespaces the caller may read."""
    found = {}
    for ns in namespaces:
        try:
            items = client.CustomObjectsApi(api).list_namespaced_custom_object(GROUP, VERSION, ns, "accounts")["items"]
        except ApiException:
            continue  # not readable by this auditor: the Safe column stays empty
        found |= {(ns, a["metadata"]["name"]): a["spec"]["safe"] for a in items}
    return found


@click.command()
@kubeconfig_option
@context_option
@click.option("-n", "--namespace", "namespaces", multiple=True, required=True,
              help="Namespace whose requests to report (repeatable).")
@click.option("--safe", help="Only requests for this Safe's accounts.")
@click.option("--account", help="Only requests for this Account (name or namespace/name).")
@click.option("--user", help="Only requests by this user.")
@click.option("--since", help="Only requests made at or after this time (RFC 3339 or a date).")
@click.option("--until", help="Only requests made before this time.")
@click.option("-o", "--output", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
def report(kubeconfig: Path | None, context: str | None, namespaces: tuple[str, ...], safe: str | None,  # noqa: PLR0917
           account: str | None, user: str | None, since: str | None, until: str | None, output: str) -> None:
    """Who requested what, who approved, when access started and ended."""
    period = _when(since, "--since"), _when(until, "--until")
    with api_client(kubeconfig, context) as api:
        try:
            requests = [pair for ns in namespaces for pair in _requests(api, ns)]
        except ApiException as exc:
            raise CliError(f"the API server refused to list requests ({exc.status} {exc.reason})",
                           EXIT_FORBIDDEN if exc.status == 403 else 1) from None
        safe_of = _safes_of(api, {r.spec.account.namespace for r, _ in requests})
    rows = report_rows(requests, safe_of, safe=safe, account=account, user=user, since=period[0], until=period[1])
    if output == "json":
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
    elif output == "csv":
        sys.stdout.write(to_csv(COLUMNS, rows))
    else:
        table = Table(*COLUMNS[:4], "requester", "phase", "approvedBy", "accessStart", "accessEnd")
        for row in rows:
            table.add_row(*(row[c] for c in (*COLUMNS[:4], "requester", "phase", "approvedBy", "accessStart",
                                              "accessEnd")))
        Console(width=None if sys.stdout.isatty() else 200).print(table)
