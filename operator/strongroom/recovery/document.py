"""The export document: one versioned JSON object holding everything needed to rebuild the vaults."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from strongroom.api.common import ApiModel, Time

DOCUMENT_VERSION = 1
# Metadata the API server sets; a restored object must not carry it (and it means nothing elsewhere).
_SERVER_SET = ("uid", "resourceVersion", "managedFields", "creationTimestamp", "generation", "selfLink",
               "ownerReferences", "finalizers", "deletionTimestamp", "deletionGracePeriodSeconds")
_NOISE_ANNOTATIONS = ("kubectl.kubernetes.io/last-applied-configuration", "kopf.zalando.org/last-handled-configuration")


class NamespaceRecord(ApiModel):
    name: str = Field(description="The namespace.")
    labels: dict[str, str] = Field(default_factory=dict, description="Its labels (Safes select namespaces by them).")


class SecretRecord(ApiModel):
    namespace: str = Field(description="The Secret's namespace (the Account's).")
    name: str = Field(description="The Secret's name.")
    type: str = Field("Opaque", description="The Secret's type.")
    labels: dict[str, str] = Field(default_factory=dict, description="Its labels.")
    data: dict[str, str] = Field(default_factory=dict, description="Its data, base64 as Kubernetes keeps it.")


class ExportDocument(ApiModel):
    """Everything an export holds. Safes and Accounts as restorable manifests (no status); requests and
    Grants with their status, as history."""

    document_version: int = Field(DOCUMENT_VERSION, description="The version of this document's shape.")
    created: Time = Field(description="When the export was made.")
    source_cluster: str = Field(description="The API server and kube-system namespace uid exported from.")
    exporter: str = Field(description="Who exported (the authenticated user).")
    history_since: Time | None = Field(None, description="Requests and Grants created before this are left out.")
    namespaces: list[NamespaceRecord] = Field(default_factory=list, description="Namespaces holding Safes.")
    safes: list[dict[str, Any]] = Field(default_factory=list, description="Safe manifests.")
    accounts: list[dict[str, Any]] = Field(default_factory=list, description="Account manifests.")
    secrets: list[SecretRecord] = Field(default_factory=list, description="The Accounts' credential Secrets.")
    access_requests: list[dict[str, Any]] = Field(default_factory=list, description="AccessRequests, as history.")
    grants: list[dict[str, Any]] = Field(default_factory=list, description="Grants, as history.")


def manifest(obj: dict[str, Any], keep_status: bool = False) -> dict[str, Any]:
    """`obj` without what the API server sets: name, namespace, labels, annotations, spec (and status)."""
    meta = obj.get("metadata") or {}
    clean_meta = {k: v for k, v in meta.items() if k not in _SERVER_SET}
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if k not in _NOISE_ANNOTATIONS}
    clean_meta.pop("annotations", None)
    if annotations:
        clean_meta["annotations"] = annotations
    out = {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "metadata": clean_meta, "spec": obj.get("spec", {})}
    if keep_status and obj.get("status"):
        out["status"] = obj["status"]
    return out


def created_at(obj: dict[str, Any]) -> datetime | None:
    stamp = (obj.get("metadata") or {}).get("creationTimestamp")
    return datetime.fromisoformat(str(stamp).replace("Z", "+00:00")) if stamp else None
