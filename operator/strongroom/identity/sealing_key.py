"""The sealing key: 32 random bytes in a Secret in the operator's own namespace, made on first start."""

from __future__ import annotations

import base64
import secrets
from typing import Any

from kubernetes.client.exceptions import ApiException

from strongroom.kube.rest import Kube, core_path
from strongroom.webhook.policies import SIGNING_KEY_SECRET

KEY_SECRET = SIGNING_KEY_SECRET
KEY_FIELD = "hmac-sha256-key"
KEY_BYTES = 32


def ensure_signing_key(kube: Kube, namespace: str) -> bytes:
    """Read the key, creating it when missing. Replicas starting at once agree: the loser of the create
    reads the winner's key."""
    path = core_path("secrets", namespace, KEY_SECRET)
    found = kube.get(path)
    if found is None:
        body = {
            "apiVersion": "v1", "kind": "Secret", "type": "Opaque", "immutable": True,
            "metadata": {"name": KEY_SECRET, "labels": {"app.kubernetes.io/part-of": "strongroom"}},
            "data": {KEY_FIELD: base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()},
        }
        try:
            found = kube.create(core_path("secrets", namespace), body)
        except ApiException as exc:
            if exc.status != 409:
                raise
            found = kube.get(path)
    return _key_of(found or {})


def _key_of(secret: dict[str, Any]) -> bytes:
    key = base64.b64decode((secret.get("data") or {}).get(KEY_FIELD, ""))
    if len(key) < KEY_BYTES:
        raise ValueError(f"Secret {KEY_SECRET} holds no usable {KEY_FIELD}; delete it to have a new one made")
    return key
