"""The export document: one versioned JSON object holding everything needed to rebuild the vaults."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import Field, ValidationError

from strongroom.api.common import ApiModel, Time

DOCUMENT_VERSION = 1
# The metadata an export keeps; the rest is set by the API server and means nothing in another cluster.
KEPT_METADATA = ("name", "namespace", "labels", "annotations")
# Label and annotation prefixes that belong to Kubernetes: they steer the cluster (Pod Security, tooling),
# so they are neither exported nor restored.
RESERVED_DOMAINS = ("kubernetes.io", "k8s.io")
_NOISE_ANNOTATIONS = ("kopf.zalando.org/last-handled-configuration",)
# The Secret types restore writes (what Accounts hold); an export carries no other.
SECRET_TYPES = ("Opaque", "kubernetes.io/basic-auth")


class DocumentError(Exception):
    """A decrypted export whose content is not a document this Strongroom reads; one line."""


class _Strict(ApiModel):
    # A field this version does not know is refused, not ignored: nothing in a file goes unexamined.
    model_config = ApiModel.model_config | {"extra": "forbid"}


class NamespaceRecord(_Strict):
    name: str = Field(description="The namespace.")
    labels: dict[str, str] = Field(
        default_factory=dict,
        description="Always empty: namespace labels decide Pod Security and which Safes deliver there, so "
        "they are never exported, and restore refuses a file that carries any.",
    )


class SecretRecord(_Strict):
    namespace: str = Field(description="The Secret's namespace (the Account's).")
    name: str = Field(description="The Secret's name.")
    type: str = Field("Opaque", description="The Secret's type.")
    labels: dict[str, str] = Field(default_factory=dict, description="Its labels.")
    data: dict[str, str] = Field(default_factory=dict, description="Its data, base64 as Kubernetes keeps it.")


class ExportDocument(_Strict):
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
    secrets: list[SecretRecord] = Field(
        default_factory=list, description="The Secrets the Accounts refer to (credential and management)."
    )
    access_requests: list[dict[str, Any]] = Field(default_factory=list, description="AccessRequests, as history.")
    grants: list[dict[str, Any]] = Field(default_factory=list, description="Grants, as history.")


def parse_document(plaintext: bytes) -> ExportDocument:
    """The document in a decrypted export, or a DocumentError naming the first thing wrong (never a value)."""
    try:
        raw = json.loads(plaintext)
    except ValueError:
        raise DocumentError("the export's content is not JSON") from None
    version = raw.get("documentVersion") if isinstance(raw, dict) else None
    if version != DOCUMENT_VERSION:
        raise DocumentError(f"the export's document version {version!r} is not one this Strongroom reads")
    try:
        return ExportDocument.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise DocumentError(f"the export's document is not one this Strongroom reads: {where}: {first['msg']}"
                            ) from None


def reserved(key: str) -> bool:
    """Whether a label or annotation key is in a Kubernetes-reserved namespace (kubernetes.io, k8s.io and
    their subdomains, e.g. pod-security.kubernetes.io/enforce)."""
    prefix, slash, _ = key.rpartition("/")
    return bool(slash) and any(prefix.lower() == d or prefix.lower().endswith("." + d) for d in RESERVED_DOMAINS)


def kept(values: dict[str, str] | None) -> dict[str, str]:
    """Labels or annotations without the reserved and the operator-tooling ones."""
    return {k: v for k, v in (values or {}).items() if not reserved(k) and k not in _NOISE_ANNOTATIONS}


def manifest(obj: dict[str, Any], keep_status: bool = False) -> dict[str, Any]:
    """`obj` as restore takes it: name, namespace, labels and annotations (without reserved keys), spec (and
    status); nothing the API server sets."""
    meta = obj.get("metadata") or {}
    clean_meta = {k: meta[k] for k in ("name", "namespace") if k in meta}
    for field in ("labels", "annotations"):
        if values := kept(meta.get(field)):
            clean_meta[field] = values
    out = {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "metadata": clean_meta, "spec": obj.get("spec", {})}
    if keep_status and obj.get("status"):
        out["status"] = obj["status"]
    return out


def created_at(obj: dict[str, Any]) -> datetime | None:
    stamp = (obj.get("metadata") or {}).get("creationTimestamp")
    return datetime.fromisoformat(str(stamp).replace("Z", "+00:00")) if stamp else None
