"""Collecting an export from the cluster, as the person exporting (never the operator)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from strongroom.api.group import GROUP, VERSION
from strongroom.api.safe import Safe
from strongroom.kube.client import self_may, whoami
from strongroom.kube.clock import SystemClock
from strongroom.kube.events import EventRecorder
from strongroom.kube.rest import Kube
from strongroom.recovery.document import ExportDocument, NamespaceRecord, SecretRecord, created_at, kept, manifest

# What an exporter must be allowed, everywhere: read every Strongroom object and every credential.
REQUIRED = (("delete", "grants", GROUP), ("list", "safes", GROUP), ("get", "secrets", ""))


class NotAllowed(Exception):
    pass


def require_admin(api: client.ApiClient) -> str:
    """The caller's user name when they are an admin in every namespace, else NotAllowed (nothing read)."""
    user, _ = whoami(api)
    for verb, resource, group in REQUIRED:
        if not self_may(api, verb=verb, resource=resource, group=group, namespace=""):
            raise NotAllowed(f"{user} may not export: it takes a Strongroom admin of every namespace "
                             f"(allowed to {verb} {resource} cluster-wide)")
    return user


def source_cluster(api: client.ApiClient) -> str:
    uid = client.CoreV1Api(api).read_namespace("kube-system").metadata.uid
    return f"{api.configuration.host} (kube-system uid {uid})"


def _list(api: client.ApiClient, plural: str) -> list[dict[str, Any]]:
    items = client.CustomObjectsApi(api).list_cluster_custom_object(GROUP, VERSION, plural)["items"]
    return sorted(items, key=lambda o: (o["metadata"]["namespace"], o["metadata"]["name"]))


def _referenced(accounts: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """(namespace, name) of every Secret the Accounts use: the credential's and the management login's."""
    refs = set()
    for account in accounts:
        spec, ns = account["spec"], account["metadata"]["namespace"]
        refs.add((ns, spec["secretRef"]["name"]))
        if management := spec.get("management"):
            refs.add((ns, management["secretRef"]["name"]))
    return refs


def collect(api: client.ApiClient, exporter: str, now: datetime, since: datetime | None) -> ExportDocument:
    core = client.CoreV1Api(api)
    safes, accounts = _list(api, "safes"), _list(api, "accounts")
    secrets: list[SecretRecord] = []
    for ns, name in sorted(_referenced(accounts)):
        try:
            secret = core.read_namespaced_secret(name, ns)
        except ApiException as exc:
            if exc.status == 404:
                continue  # the Account's own status says so; nothing to carry
            raise
        secrets.append(SecretRecord(namespace=ns, name=name, type=secret.type or "Opaque",
                                    labels=kept(secret.metadata.labels), data=secret.data or {}))
    # Names only: namespace labels steer the cluster (Pod Security, Safe delivery) and are never restored.
    namespaces = [NamespaceRecord(name=ns) for ns in sorted({o["metadata"]["namespace"] for o in safes + accounts})]

    def in_period(obj: dict[str, Any]) -> bool:
        created = created_at(obj)
        return since is None or created is None or created >= since

    return ExportDocument(
        created=now, source_cluster=source_cluster(api), exporter=exporter, history_since=since,
        namespaces=namespaces,
        safes=[manifest(s) for s in safes],
        accounts=[manifest(a) for a in accounts],
        secrets=secrets,
        access_requests=[manifest(r, keep_status=True) for r in _list(api, "accessrequests") if in_period(r)],
        grants=[manifest(g, keep_status=True) for g in _list(api, "grants") if in_period(g)],
    )


def record_export(api: client.ApiClient, exporter: str, recipient: str, signer: str) -> None:
    """An `Exported` Event on every Safe (an export holds them all), written as the exporter: who, for
    which recipient key and signed by which key; never what."""
    recorder = EventRecorder(Kube(api), SystemClock())
    try:
        for body in client.CustomObjectsApi(api).list_cluster_custom_object(GROUP, VERSION, "safes")["items"]:
            recorder.record(Safe.from_object(body), "Exported",
                            f"exported by {exporter}, encrypted for recipient key {recipient}, signed by key {signer}")
    finally:
        recorder.close()
