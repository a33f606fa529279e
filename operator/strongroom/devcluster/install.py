"""What `helm install` puts into a cluster, for the local control plane: the operator's identity and
the Service its webhooks are reached through (at `cluster up`), and Strongroom's API itself (the
CRDs, the admission policies, the webhook configuration), which tests install and remove at will."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from strongroom.api.fence import LeaderFence
from strongroom.api.group import GROUP, VERSION
from strongroom.codegen import rbac
from strongroom.devcluster.users import (
    LEASE_NAME,
    OPERATOR_NAMESPACE,
    OPERATOR_SERVICE_ACCOUNT,
    OPERATOR_USER,
    WEBHOOK_SERVICE,
)
from strongroom.kube.client import apply
from strongroom.runtime.leader import leader_fence
from strongroom.webhook.configurations import by_service, configuration, remove_configuration, set_ca_bundle
from strongroom.webhook.policies import IDENTITY, WEBHOOK_TLS_SECRET, all_policies

CRDS = Path(__file__).resolve().parents[3] / "crds"
WEBHOOK_PORT_NAME = "https"
ADMISSION = "admissionregistration.k8s.io/v1"


def _binding(kind: str, name: str, role: str, namespace: str = "") -> dict[str, Any]:
    metadata = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": metadata,
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": [{"kind": "ServiceAccount", "name": OPERATOR_SERVICE_ACCOUNT, "namespace": OPERATOR_NAMESPACE}],
    }


def operator_identity() -> list[dict[str, Any]]:
    """The operator's namespace and ServiceAccount, bound to its roles only, and its webhook Service
    (selector-less: each replica's address is listed in an EndpointSlice as it becomes ready)."""
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": OPERATOR_NAMESPACE}},
        {"apiVersion": "v1", "kind": "ServiceAccount",
         "metadata": {"name": OPERATOR_SERVICE_ACCOUNT, "namespace": OPERATOR_NAMESPACE}},
        _binding("ClusterRoleBinding", rbac.OPERATOR_ROLE, rbac.OPERATOR_ROLE),
        _binding("RoleBinding", rbac.VAULT_ACCESS_ROLE, rbac.VAULT_ACCESS_ROLE, OPERATOR_NAMESPACE),
        _binding("RoleBinding", rbac.LEADER_ROLE, rbac.LEADER_ROLE, OPERATOR_NAMESPACE),
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": WEBHOOK_SERVICE, "namespace": OPERATOR_NAMESPACE},
         "spec": {"ports": [{"name": WEBHOOK_PORT_NAME, "port": 443, "protocol": "TCP"}]}},
    ]


def crds() -> list[dict[str, Any]]:
    return [yaml.safe_load(path.read_text()) for path in sorted(CRDS.glob("*.yaml"))]


def policies() -> list[dict[str, Any]]:
    return all_policies(OPERATOR_USER, OPERATOR_NAMESPACE, LEASE_NAME)


def webhook_configuration() -> dict[str, Any]:
    return configuration(by_service(OPERATOR_NAMESPACE, WEBHOOK_SERVICE), OPERATOR_USER)


def install(admin: client.ApiClient, *, webhooks: bool = True) -> None:
    """Strongroom's API: CRDs (then, once they are served, the LeaderFence naming nobody: no replica
    writes until one leads), admission policies and (with `webhooks`) the webhook configuration."""
    manifests = crds()
    apply(admin, manifests)
    extensions = client.ApiextensionsV1Api(admin)
    for name in (m["metadata"]["name"] for m in manifests):
        _wait(lambda name=name: _established(extensions, name), f"CRD {name}")
    existing = _get_fence(admin)
    apply(admin, [*([] if existing else [leader_fence(LEASE_NAME, OPERATOR_NAMESPACE)]), *policies(),
                  *([webhook_configuration()] if webhooks else [])])


def _established(extensions: client.ApiextensionsV1Api, name: str) -> bool:
    conditions = extensions.read_custom_resource_definition(name).status.conditions or []
    return any(c.type == "Established" and c.status == "True" for c in conditions)


def _get_fence(admin: client.ApiClient) -> dict[str, Any] | None:
    try:
        return client.CustomObjectsApi(admin).get_namespaced_custom_object(
            GROUP, VERSION, OPERATOR_NAMESPACE, LeaderFence.crd.plural, LEASE_NAME)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise


def _wait(ready: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not ready within {timeout:.0f}s")
        time.sleep(0.1)


def reinstall_webhooks(admin: client.ApiClient) -> None:
    """The webhook configuration back, trusting the operators' shared serving CA (which the running
    replicas put in at their start)."""
    apply(admin, [webhook_configuration()])
    shared = client.CoreV1Api(admin).read_namespaced_secret(WEBHOOK_TLS_SECRET, OPERATOR_NAMESPACE)
    set_ca_bundle(admin, base64.b64decode(shared.data["ca.crt"]))


def remove_identity_policy(admin: client.ApiClient) -> None:
    """Take the identity policy away (what someone with cluster-admin could do), leaving the operator's
    own fences in place."""
    api = client.AdmissionregistrationV1Api(admin)
    for delete in (api.delete_validating_admission_policy_binding, api.delete_validating_admission_policy):
        try:
            delete(IDENTITY)
        except ApiException as exc:
            if exc.status != 404:
                raise


__all__ = ["install", "remove_configuration", "remove_identity_policy", "webhook_configuration"]
