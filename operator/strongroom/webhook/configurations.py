"""The admission webhooks Strongroom serves, and the configuration that routes the API server to them.

The configuration is installed by whoever installs Strongroom (the chart, or the local control
plane), never created by the operator: the operator may only patch its CA bundle, by name, so its
identity cannot route any other resource to itself. It fails closed (`failurePolicy: Fail`, a short
timeout), stays when the operator stops, and covers only Strongroom's resources. kopf picks the
handler by the URL path, so each entry's path is its handler id.

Every webhook here only stamps and seals identity; the checks that CEL can express run in the API
server itself (see webhook.policies), so they hold even while no replica answers.
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
TIMEOUT_SECONDS = 5


@dataclass(frozen=True)
class Endpoint:
    id: str  # the kopf handler id and the URL path
    resource: str  # plural, with "/status" for the subresource
    operations: tuple[str, ...]

    @property
    def webhook_name(self) -> str:
        return f"{self.id}.{GROUP}"


STAMP_REQUESTER = Endpoint("stamp-requester", "accessrequests", ("CREATE",))
STAMP_RELEASE = Endpoint("stamp-release", "accessrequests", ("UPDATE",))
STAMP_REVIEW = Endpoint("stamp-review", "accessrequests/status", ("UPDATE",))
STAMP_ISSUER = Endpoint("stamp-issuer", "grants", ("CREATE",))
ENDPOINTS = (STAMP_REQUESTER, STAMP_RELEASE, STAMP_REVIEW, STAMP_ISSUER)

ClientConfig = Callable[[Endpoint], dict[str, Any]]


def by_url(base_url: str) -> ClientConfig:
    """Reach the webhook at BASE_URL/<id> (one process, outside any Service)."""
    return lambda endpoint: {"url": f"{base_url.rstrip('/')}/{endpoint.id}"}


def by_service(namespace: str, name: str, port: int = 443) -> ClientConfig:
    """Reach the webhook through a Service: every replica behind it answers."""
    return lambda endpoint: {
        "service": {"namespace": namespace, "name": name, "port": port, "path": f"/{endpoint.id}"}}


def _webhook(endpoint: Endpoint, client_config: ClientConfig, operator_user: str) -> dict[str, Any]:
    return {
        "name": endpoint.webhook_name,
        "clientConfig": client_config(endpoint),
        # The operator's own writes need no stamp: skipping them keeps its writes off its own webhook
        # server (and the API server from calling it for each of them).
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
        "reinvocationPolicy": "Never",
    }


def configuration(client_config: ClientConfig, operator_user: str) -> dict[str, Any]:
    """The MutatingWebhookConfiguration; `operator_user` is the operator's own identity, whose writes
    are not sent to the webhooks. Without a CA bundle: the operator adds its CA (or cert-manager does)."""
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingWebhookConfiguration",
        "metadata": {"name": MUTATING_CONFIGURATION, "labels": {"app.kubernetes.io/part-of": "strongroom"}},
        "webhooks": [_webhook(e, client_config, operator_user) for e in ENDPOINTS],
    }


def set_ca_bundle(api: client.ApiClient, ca_pem: bytes) -> bool:
    """Put the webhook's CA into the configuration (a patch by name, the one right the operator has
    on it); False when it was there already."""
    admission = client.AdmissionregistrationV1Api(api)
    bundle = base64.b64encode(ca_pem).decode()
    current = admission.read_mutating_webhook_configuration(MUTATING_CONFIGURATION)
    if all(w.client_config.ca_bundle == bundle for w in current.webhooks or []):
        return False
    patch = [{"op": "replace" if w.client_config.ca_bundle else "add",
              "path": f"/webhooks/{i}/clientConfig/caBundle", "value": bundle}
             for i, w in enumerate(current.webhooks or [])]
    admission.patch_mutating_webhook_configuration(MUTATING_CONFIGURATION, patch)
    return True


def remove_configuration(api: client.ApiClient) -> None:
    """Delete the configuration (what uninstalling does). Until it is installed again, Strongroom's
    objects are admitted unstamped, and the operator honours none of what is written."""
    with contextlib.suppress(ApiException):
        client.AdmissionregistrationV1Api(api).delete_mutating_webhook_configuration(MUTATING_CONFIGURATION)
