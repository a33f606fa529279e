"""Restoring an export: namespaces, Secrets, Safes and Accounts by server-side apply (so twice is the
same as once), and requests and Grants as inert history records that nothing acts on."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from strongroom.kube.client import apply
from strongroom.recovery.document import ExportDocument, manifest

HISTORY_CONFIGMAP = "strongroom-restored-history"
HISTORY_LABEL = "strongroom.dev/restored-history"


@dataclass(frozen=True)
class Restored:
    namespaces: int
    secrets: int
    safes: int
    accounts: int
    history_records: int


def history_configmaps(doc: ExportDocument) -> list[dict[str, Any]]:
    """One ConfigMap per namespace holding its requests and Grants as JSON: readable by auditors and
    `strongroom report`, never mistaken for live access by the operator or the API server."""
    by_ns: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: {"accessrequests": [], "grants": []})
    for kind, items in (("accessrequests", doc.access_requests), ("grants", doc.grants)):
        for obj in items:
            by_ns[obj["metadata"]["namespace"]][kind].append(obj)
    return [
        {"apiVersion": "v1", "kind": "ConfigMap",
         "metadata": {"name": HISTORY_CONFIGMAP, "namespace": ns, "labels": {HISTORY_LABEL: "true"},
                      "annotations": {"strongroom.dev/exported-from": doc.source_cluster[:1024],
                                      "strongroom.dev/exported-at": doc.created.isoformat()}},
         "data": {f"{kind}.json": json.dumps(items, sort_keys=True) for kind, items in records.items()}}
        for ns, records in sorted(by_ns.items())
    ]


def select(doc: ExportDocument, namespaces: set[str]) -> ExportDocument:
    """Only what lives in `namespaces` (every namespace when empty), to restore one vault of many."""
    if not namespaces:
        return doc

    def mine(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [item for item in items if item["metadata"]["namespace"] in namespaces]

    return doc.model_copy(update={
        "namespaces": [n for n in doc.namespaces if n.name in namespaces],
        "secrets": [s for s in doc.secrets if s.namespace in namespaces],
        "safes": mine(doc.safes), "accounts": mine(doc.accounts),
        "access_requests": mine(doc.access_requests), "grants": mine(doc.grants),
    })


def _apply_content(api: client.ApiClient, objects: list[dict[str, Any]], patience: float = 30) -> None:
    """Apply into namespaces just (re)created. The API server's namespace admission can still see a
    namespace of the same name that was just deleted as terminating, and refuses content for a moment."""
    deadline = time.monotonic() + patience
    while True:
        try:
            apply(api, objects)
            return
        except ApiException as exc:
            if exc.status != 403 or "being terminated" not in (exc.body or "") or time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def restore(api: client.ApiClient, doc: ExportDocument) -> Restored:
    namespaces = {n.name: n.labels for n in doc.namespaces}
    for item in [*doc.access_requests, *doc.grants]:
        namespaces.setdefault(item["metadata"]["namespace"], {})
    apply(api, [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": labels}}
                for ns, labels in sorted(namespaces.items())])
    _apply_content(api, [{"apiVersion": "v1", "kind": "Secret", "type": s.type,
                          "metadata": {"name": s.name, "namespace": s.namespace, "labels": s.labels}, "data": s.data}
                          for s in doc.secrets])
    _apply_content(api, [manifest(obj) for obj in [*doc.safes, *doc.accounts]])
    maps = history_configmaps(doc)
    _apply_content(api, maps)
    return Restored(len(namespaces), len(doc.secrets), len(doc.safes), len(doc.accounts),
                    len(doc.access_requests) + len(doc.grants))
