"""The sealing key: 32 random bytes in a Secret in the operator's own namespace, made on first start."""

from __future__ import annotations

import base64
import secrets

from kubernetes import client
from kubernetes.client.exceptions import ApiException

KEY_SECRET = "strongroom-signing-key"
KEY_FIELD = "hmac-sha256-key"
KEY_BYTES = 32


def ensure_signing_key(api: client.ApiClient, namespace: str) -> bytes:
    """Read the key, creating it when missing. Two replicas starting at once agree: the loser of
    the create reads the winner's key."""
    core = client.CoreV1Api(api)
    try:
        return _key_of(core.read_namespaced_secret(KEY_SECRET, namespace))
    except ApiException as exc:
        if exc.status != 404:
            raise
    body = client.V1Secret(
        metadata=client.V1ObjectMeta(
            name=KEY_SECRET, labels={"app.kubernetes.io/part-of": "strongroom"}
        ),
        type="Opaque",
        data={KEY_FIELD: base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()},
        immutable=True,
    )
    try:
        core.create_namespaced_secret(namespace, body)
    except ApiException as exc:
        if exc.status != 409:
            raise
    return _key_of(core.read_namespaced_secret(KEY_SECRET, namespace))


def _key_of(secret: client.V1Secret) -> bytes:
    key = base64.b64decode((secret.data or {}).get(KEY_FIELD, ""))
    if len(key) < KEY_BYTES:
        raise ValueError(f"Secret {KEY_SECRET} holds no usable {KEY_FIELD}; delete it to have a new one made")
    return key
