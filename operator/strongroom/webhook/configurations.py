"""The admission webhooks Strongroom serves, and the configurations that route the API server to them.

We write the configurations ourselves rather than let kopf manage them: they must fail closed
(`failurePolicy: Fail`, a short timeout), stay when the operator stops, and cover only Strongroom's
resources. kopf picks the handler by the URL path, so each entry's path is its handler id.
"""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from strongroom.api.group import GROUP, VERSION

MUTATING_CONFIGURATION = "strongroom-mutating"
VALIDATING_CONFIGURATION = "strongroom-validating"
TIMEOUT_SECONDS = 5


@dataclass(frozen=True)
class Endpoint:
    id: str  # the kopf handler id and the URL path
    mutating: bool
    resource: str  # plural, with "/status" for the subresource
    operations: tuple[str, ...]

    @property
    def webhook_name(self) -> str:
        return f"{self.id}.{GROUP}"


STAMP_REQUESTER = Endpoint("stamp-requester", True, "accessrequests", ("CREATE",))
STAMP_REVIEW = Endpoint("stamp-review", True, "accessrequests/status", ("UPDATE",))
STAMP_ISSUER = Endpoint("stamp-issuer", True, "grants", ("CREATE",))
CHECK_REQUEST_UPDATE = Endpoint("check-request-update", False, "accessrequests", ("UPDATE",))
CHECK_GRANT_STATUS = Endpoint("check-grant-status", False, "grants/status", ("UPDATE",))
ENDPOINTS = (STAMP_REQUESTER, STAMP_REVIEW, STAMP_ISSUER, CHECK_REQUEST_UPDATE, CHECK_GRANT_STATUS)

ClientConfig = Callable[[Endpoint], dict[str, Any]]


def by_url(base_url: str, ca_pem: bytes) -> ClientConfig:
    """Reach the webhook at BASE_URL/<id> (a local operator: https://127.0.0.1:PORT)."""
    bundle = base64.b64encode(ca_pem).decode()
    return lambda endpoint: {"url": f"{base_url.rstrip('/')}/{endpoint.id}", "caBundle": bundle}


def by_service(namespace: str, name: str, port: int, ca_pem: bytes) -> ClientConfig:
    """Reach the webhook through a Service (the operator in a cluster)."""
    bundle = base64.b64encode(ca_pem).decode()
    return lambda endpoint: {
        "service": {"namespace": namespace, "name": name, "port": port, "path": f"/{endpoint.id}"},
        "caBundle": bundle,
    }


def _webhook(endpoint: Endpoint, client_config: ClientConfig, operator_user: str) -> dict[str, Any]:
    return {
        "name": endpoint.webhook_name,
        "clientConfig": client_config(endpoint),
        # The operator's own writes need no stamp and no check: skipping them keeps its handlers from
        # waiting on its own webhook server (and the API server from calling it ~10 times a request).
        "matchConditions": [{
            "name": "not-the-operator",
            "expression": f"request.userInfo.username != {json.dumps(operator_user)}",
        }],
        "rules": [{
            "apiGroups": [GROUP],
            "apiVersions": [VERSION],
            "resources": [endpoint.resource],
            "operations": list(endpoint.operations),
            "scope": "Namespaced",
        }],
        "failurePolicy": "Fail",
        "matchPolicy": "Equivalent",
        "sideEffects": "None",
        "timeoutSeconds": TIMEOUT_SECONDS,
        "admissionReviewVersions": ["v1"],
        **({"reinvocationPolicy": "Never"} if endpoint.mutating else {}),
    }


def configurations(client_config: ClientConfig, operator_user: str) -> list[dict[str, Any]]:
    """The Mutating- and ValidatingWebhookConfiguration manifests; `operator_user` is the operator's
    own identity, whose writes are not sent to the webhooks."""
    labels = {"app.kubernetes.io/part-of": "strongroom"}
    return [
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": kind,
            "metadata": {"name": name, "labels": labels},
            "webhooks": [_webhook(e, client_config, operator_user) for e in ENDPOINTS if e.mutating == mutating],
        }
        for kind, name, mutating in (
            ("MutatingWebhookConfiguration", MUTATING_CONFIGURATION, True),
            ("ValidatingWebhookConfiguration", VALIDATING_CONFIGURATION, False),
        )
    ]


def remove_configurations(api: client.ApiClient) -> None:
    """Delete both configurations (what uninstalling does). Until the operator installs them again,
    Strongroom's objects are admitted unstamped, and the operator honours none of what is written."""
    admission = client.AdmissionregistrationV1Api(api)
    for delete, name in (
        (admission.delete_mutating_webhook_configuration, MUTATING_CONFIGURATION),
        (admission.delete_validating_webhook_configuration, VALIDATING_CONFIGURATION),
    ):
        with contextlib.suppress(ApiException):
            delete(name)
