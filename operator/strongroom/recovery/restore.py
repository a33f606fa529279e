"""Restoring an export: what a file may bring back is an allow-list, checked in full before anything is
applied. Safes and Accounts (as their models validate them), the Secrets those Accounts use (Opaque or
basic-auth, in the Account's namespace), namespaces created when missing and never labelled, and requests
and Grants as inert history records that nothing acts on. Applied by server-side apply, so twice is the
same as once."""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import NotFoundError
from pydantic import ValidationError

from strongroom.api.account import Account
from strongroom.api.common import DNS1123_LABEL_PATTERN, DNS1123_SUBDOMAIN_PATTERN
from strongroom.api.group import API_VERSION
from strongroom.api.safe import Safe
from strongroom.kube.client import apply
from strongroom.recovery.document import KEPT_METADATA, SECRET_TYPES, ExportDocument, SecretRecord, reserved

HISTORY_CONFIGMAP = "strongroom-restored-history"
HISTORY_LABEL = "strongroom.dev/restored-history"
# The cluster's own namespaces (and the prefix Kubernetes reserves): a file never writes there.
SYSTEM_NAMESPACES = ("kube-system", "kube-public", "kube-node-lease")
_SYSTEM_PREFIX = "kube-"
_NAMESPACE = re.compile(DNS1123_LABEL_PATTERN)
_NAME = re.compile(DNS1123_SUBDOMAIN_PATTERN)
_SECRET_KEY = re.compile(r"^[-._a-zA-Z0-9]{1,253}$")


class Refused(Exception):
    """A document restore will not apply; one line naming the first offending item, never a value."""


@dataclass(frozen=True)
class Plan:
    """What a restore writes, every item checked: namespaces to create when missing (never labelled), then
    the objects to apply in order."""

    namespaces: list[str]
    secrets: list[dict[str, Any]]
    safes: list[dict[str, Any]]
    accounts: list[dict[str, Any]]
    history: list[dict[str, Any]]  # one ConfigMap per namespace
    history_records: int

    @property
    def objects(self) -> list[dict[str, Any]]:
        return [*self.secrets, *self.safes, *self.accounts, *self.history]


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


def _shown(value: Any) -> str:
    # Names from a file go into a one-line message: printable, and short.
    return "".join(c if c.isprintable() else "?" for c in str(value))[:100]


def _what(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    return f"{_shown(obj.get('kind') or 'an object without a kind')} {_shown(meta.get('namespace'))}/" \
           f"{_shown(meta.get('name'))}"


def _namespace(name: Any, what: str) -> str:
    if not isinstance(name, str) or len(name) > 63 or not _NAMESPACE.match(name):
        raise Refused(f"{what}: not a valid namespace name")
    if name in SYSTEM_NAMESPACES or name.startswith(_SYSTEM_PREFIX):
        raise Refused(f"{what}: namespace {name} belongs to the cluster; restore never writes there")
    return name


def _name(name: Any, what: str) -> str:
    if not isinstance(name, str) or len(name) > 253 or not _NAME.match(name):
        raise Refused(f"{what}: not a valid object name")
    return name


def _keys(values: Any, field: str, what: str) -> dict[str, str]:
    """Labels or annotations as a file gives them, refused when one is in a Kubernetes-reserved namespace."""
    if values is None:
        return {}
    if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
        raise Refused(f"{what}: {field} must map strings to strings")
    if found := sorted(k for k in values if reserved(k)):
        raise Refused(f"{what}: {field[:-1]} {_shown(found[0])} is in a Kubernetes-reserved namespace "
                      "(kubernetes.io, k8s.io); restore never sets those")
    return values


def _metadata(obj: dict[str, Any], what: str) -> dict[str, Any]:
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        raise Refused(f"{what}: has no metadata")
    if extra := sorted(set(meta) - set(KEPT_METADATA)):  # ownerReferences, finalizers, uid, ...
        raise Refused(f"{what}: metadata.{_shown(extra[0])} is not restorable (only {', '.join(KEPT_METADATA)})")
    out: dict[str, Any] = {"name": _name(meta.get("name"), what), "namespace": _namespace(meta.get("namespace"), what)}
    for field in ("labels", "annotations"):
        if values := _keys(meta.get(field), field, what):
            out[field] = values
    return out


def _resource(obj: dict[str, Any], model: type[Safe] | type[Account], where: str) -> dict[str, Any]:
    """The object to apply: checked metadata, and the spec as the model validated it (nothing unvalidated)."""
    what, kind = _what(obj), model.__name__
    if obj.get("apiVersion") != API_VERSION or obj.get("kind") != kind:
        raise Refused(f"{what} ({_shown(obj.get('apiVersion'))}): the file's {where} may hold only "
                      f"{API_VERSION} {kind}s")
    if extra := sorted(set(obj) - {"apiVersion", "kind", "metadata", "spec"}):
        raise Refused(f"{what}: {_shown(extra[0])} is not restorable (only its metadata and spec)")
    meta = _metadata(obj, what)
    try:
        parsed = model.from_object(obj)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        raise Refused(f"{what}: invalid {field}: {_shown(first['msg'])}") from None
    spec = parsed.spec.model_dump(mode="json", by_alias=True, exclude_none=True, exclude_unset=True)
    return {"apiVersion": API_VERSION, "kind": kind, "metadata": meta, "spec": spec}


def _secret_refs(account: dict[str, Any]) -> set[tuple[str, str]]:
    """The Secrets a validated Account uses, in its namespace: the credential's and the management login's."""
    ns, spec = account["metadata"]["namespace"], account["spec"]
    return {(ns, ref["name"]) for ref in (spec["secretRef"], (spec.get("management") or {}).get("secretRef")) if ref}


def _secret(record: SecretRecord, referenced: set[tuple[str, str]]) -> dict[str, Any]:
    what = f"Secret {_shown(record.namespace)}/{_shown(record.name)}"
    key = (_namespace(record.namespace, what), _name(record.name, what))
    if key not in referenced:
        raise Refused(f"{what}: no Account in the file uses it in that namespace; restore writes only the "
                      "Secrets of the file's Accounts")
    if record.type not in SECRET_TYPES:
        raise Refused(f"{what}: type {_shown(record.type)} is not restorable (only {' and '.join(SECRET_TYPES)})")
    for data_key, value in record.data.items():
        if not _SECRET_KEY.match(data_key):
            raise Refused(f"{what}: {_shown(data_key)!r} is not a valid Secret key")
        try:
            base64.b64decode(value, validate=True)
        except binascii.Error:
            raise Refused(f"{what}: the value of {data_key} is not base64") from None
    meta = {"name": record.name, "namespace": record.namespace}
    if labels := _keys(record.labels, "labels", what):
        meta["labels"] = labels
    return {"apiVersion": "v1", "kind": "Secret", "type": record.type, "metadata": meta, "data": record.data}


def _history(obj: dict[str, Any], kind: str, where: str) -> str:
    """The namespace a history record goes to; it is kept as data, never applied."""
    what = _what(obj)
    if obj.get("apiVersion") != API_VERSION or obj.get("kind") != kind:
        raise Refused(f"{what}: the file's {where} may hold only {API_VERSION} {kind}s")
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    _name(meta.get("name"), what)
    return _namespace(meta.get("namespace"), what)


def _plan(doc: ExportDocument) -> Plan:
    for record in doc.namespaces:
        what = f"Namespace {_shown(record.name)}"
        _namespace(record.name, what)
        if record.labels:
            raise Refused(f"{what}: the file carries labels for it ({_shown(', '.join(sorted(record.labels)))}); "
                          "restore never sets namespace labels (they decide Pod Security and Safe delivery)")
    safes = [_resource(obj, Safe, "safes") for obj in doc.safes]
    accounts = [_resource(obj, Account, "accounts") for obj in doc.accounts]
    referenced = set().union(*(_secret_refs(account) for account in accounts))
    secrets = [_secret(record, referenced) for record in doc.secrets]
    history_namespaces = {_history(obj, "AccessRequest", "accessRequests") for obj in doc.access_requests}
    history_namespaces |= {_history(obj, "Grant", "grants") for obj in doc.grants}
    namespaces = {o["metadata"]["namespace"] for o in [*secrets, *safes, *accounts]} | history_namespaces
    return Plan(sorted(namespaces), secrets, safes, accounts, history_configmaps(doc),
                len(doc.access_requests) + len(doc.grants))


def plan(doc: ExportDocument, only: set[str] | None = None) -> Plan:
    """What restoring `doc` writes (only into the namespaces `only`, when given), or Refused for the first
    item outside the allow-list. The whole document is checked, whatever `only` selects."""
    whole = _plan(doc)
    return _plan(select(doc, only)) if only else whole


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


def _exists(core: client.CoreV1Api, namespace: str) -> bool:
    try:
        core.read_namespace(namespace)
    except ApiException as exc:
        if exc.status == 404:
            return False
        raise
    return True


def restore(api: client.ApiClient, planned: Plan) -> int:
    """Apply `planned`; the number of namespaces created. An existing namespace is left as it is."""
    core = client.CoreV1Api(api)
    created = 0
    for ns in planned.namespaces:
        if _exists(core, ns):
            continue
        try:
            core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=ns)))
            created += 1
        except ApiException as exc:
            if exc.status != 409:  # made meanwhile: as good
                raise
    _apply_content(api, planned.objects)
    return created


@dataclass(frozen=True)
class Change:
    action: str  # create, update or unchanged
    kind: str
    namespace: str
    name: str


def _within(wanted: Any, live: Any) -> bool:
    """Whether `live` already holds every field of `wanted` with its value (what an apply would set)."""
    if isinstance(wanted, dict) and isinstance(live, dict):
        return all(k in live and _within(v, live[k]) for k, v in wanted.items())
    return wanted == live


def action(wanted: dict[str, Any], live: dict[str, Any] | None) -> str:
    """create, update or unchanged: what applying `wanted` would do to `live` (None: missing)."""
    if live is None:
        return "create"
    meta = live.get("metadata") or {}
    same = all(_within(wanted["metadata"].get(f, {}), meta.get(f) or {}) for f in ("labels", "annotations"))
    if "data" in wanted:  # Secrets and ConfigMaps: exactly the same data (and type)
        same = same and wanted["data"] == (live.get("data") or {}) and wanted.get("type") in (None, live.get("type"))
    if "spec" in wanted:
        same = same and _within(wanted["spec"], live.get("spec") or {})
    return "unchanged" if same else "update"


def preview(api: client.ApiClient, planned: Plan) -> list[Change]:
    """What restoring `planned` would do to each object, read with GETs as the caller; nothing is written."""
    core = client.CoreV1Api(api)
    changes = [Change("unchanged" if _exists(core, ns) else "create", "Namespace", "", ns)
               for ns in planned.namespaces]
    dynamic = DynamicClient(api)
    for obj in planned.objects:
        meta = obj["metadata"]
        resource = dynamic.resources.get(api_version=obj["apiVersion"], kind=obj["kind"])
        try:
            live: dict[str, Any] | None = resource.get(name=meta["name"], namespace=meta["namespace"]).to_dict()
        except NotFoundError:
            live = None
        changes.append(Change(action(obj, live), obj["kind"], meta["namespace"], meta["name"]))
    return changes
