"""The demo story on the local control plane, each step as the person who takes it: alice asks for the
production database, bob and carol approve, the Secret appears in alice's namespace and she reads it,
it vanishes when the window ends, and the history says who did what and when."""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from rich.console import Console
from rich.table import Table

from strongroom import crdgen, webhooks
from strongroom.kube import api_client, apply
from strongroom.localcluster import operator_process
from strongroom.localcluster.controlplane import LocalCluster
from strongroom.localcluster.sample import Sample, seed
from strongroom.localcluster.users import OPERATOR_USER
from strongroom.models.api import GROUP, VERSION

T = TypeVar("T")
WINDOW = "20s"


def _until(probe: Callable[[], T | None], timeout: float, what: str) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found = probe()
        except (ApiException, OSError):  # not there yet, or not listening yet
            found = None
        if found:
            return found
        time.sleep(0.1)
    raise TimeoutError(f"{what} did not happen within {timeout:.0f}s; see the operator log")


@contextmanager
def _operator(local: LocalCluster, admin: client.ApiClient) -> Iterator[Path]:
    """`strongroom operator` under its own identity for the length of the demo."""
    running = operator_process.start(local.kubeconfig(OPERATOR_USER), local.logs_dir / "operator.log", tied=True)
    try:
        yield running.log
    finally:
        running.stop()
        # The configurations fail closed while no operator runs; the demo leaves the cluster usable.
        webhooks.remove_configurations(admin)


def _request(api: client.ApiClient, sample: Sample, name: str) -> dict[str, Any]:
    return client.CustomObjectsApi(api).get_namespaced_custom_object(
        GROUP, VERSION, sample.team, "accessrequests", name)


def play(local: LocalCluster, console: Console) -> None:
    users = {name: api_client(local.kubeconfig(name)) for name in ("admin", "alice", "bob", "carol")}
    say = console.print
    say("[bold]1. admin[/] installs the API and vaults the production database password in Safe prod-db "
        "(members: group dev; approvers: group sre-leads; 2 approvals; at most 1h)")
    apply(users["admin"], [yaml.safe_load(text) for text in crdgen.render_all().values()])
    _until(lambda: client.CustomObjectsApi(users["admin"]).list_cluster_custom_object(
        GROUP, VERSION, "safes") is not None, 30, "the CRDs being served")
    sample = seed(users["admin"], "vault", "team-alice", f"demo-{secrets.token_hex(8)}", {
        "description": "Production PostgreSQL",
        "members": [{"groups": ["dev"]}],
        "approvers": {"groups": ["sre-leads"]},
        "policy": {"requiredApprovals": 2, "requireReason": True, "maxDuration": "1h",
                   "allowedNamespaces": {"names": ["team-alice"]}},
    })
    with _operator(local, users["admin"]) as log:
        say(f"   the operator runs as {OPERATOR_USER} (log: {log})")
        name = f"fix-index-{secrets.token_hex(2)}"
        say(f"[bold]2. alice[/] asks for account {sample.account} for {WINDOW}: \"INC-4711 rebuild a broken index\"")
        _until(lambda: client.CustomObjectsApi(users["alice"]).create_namespaced_custom_object(
            GROUP, VERSION, sample.team, "accessrequests", {
                "apiVersion": f"{GROUP}/{VERSION}", "kind": "AccessRequest", "metadata": {"name": name},
                "spec": {"account": {"namespace": sample.vault, "name": sample.account},
                         "reason": "INC-4711 rebuild a broken index", "duration": WINDOW}}), 30, "the request")
        pending = _until(lambda: (_request(users["bob"], sample, name).get("status") or {}).get("phase"), 30,
                         "the operator seeing the request")
        say(f"   the request is {pending}; requester stamped by the API server: "
            f"{_request(users['bob'], sample, name)['spec']['requester']}")
        for approver in ("bob", "carol"):
            say(f"[bold]3. {approver}[/] sees it pending and approves")
            status = _request(users[approver], sample, name).get("status") or {}
            reviews = status.get("reviews") or []
            op = ({"op": "add", "path": "/status/reviews/-", "value": {"decision": "Approve", "comment": "ok"}}
                  if reviews else
                  {"op": "add", "path": "/status/reviews", "value": [{"decision": "Approve", "comment": "ok"}]})
            client.CustomObjectsApi(users[approver]).patch_namespaced_custom_object_status(
                GROUP, VERSION, sample.team, "accessrequests", name, [op],
                _content_type="application/json-patch+json")
        status = _until(lambda: (s := _request(users["alice"], sample, name).get("status") or {}).get(
            "phase") == "Active" and s, 30, "activation")
        say(f"   approved by {', '.join(r['user'] for r in status.get('reviews', []))}; "
            f"the operator wrote Secret {status['secretName']}")
        core = client.CoreV1Api(users["alice"])
        delivered = _until(lambda: core.read_namespaced_secret(status["secretName"], sample.team), 10, "the Secret")
        password = base64.b64decode(delivered.data["password"]).decode()
        say(f"[bold]4. alice[/] reads Secret {status['secretName']} in {sample.team}: user "
            f"{base64.b64decode(delivered.data['username']).decode()}, password {password[:4]}… "
            f"(until {status['notAfter']})")
        shown = -1
        while True:
            try:
                core.read_namespaced_secret(status["secretName"], sample.team)
            except ApiException as exc:
                if exc.status == 404:
                    break
                raise
            left = max(0, int(_seconds_left(status["notAfter"])))
            if console.is_terminal:
                console.print(f"   the Secret exists; {left:>2}s left", end="\r")
            elif left != shown and left % 5 == 0:
                console.print(f"   the Secret exists; {left:>2}s left")
            shown = left
            time.sleep(0.2)
        say(f"[bold]5.[/] the Secret vanished at the end of the window ({status['notAfter']})         ")
        final = _until(lambda: (s := _request(users["alice"], sample, name)["status"]).get("phase") == "Expired"
                       and s, 15, "the request recording the end")
    table = Table(title=f"history of {name}")
    for column in ("time (UTC)", "who", "what", "detail"):
        table.add_column(column)
    for entry in final["history"]:
        table.add_row(entry["time"][11:19], entry["actor"], entry["event"], entry.get("message", ""))
    console.print(table)
    for api in users.values():
        api.close()


def _seconds_left(not_after: str) -> float:
    return (datetime.fromisoformat(not_after.replace("Z", "+00:00")) - datetime.now(UTC)).total_seconds()
