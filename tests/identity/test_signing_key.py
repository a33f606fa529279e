"""The sealing key lives in the operator's namespace, is made once, and nobody else can read it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from strongroom.identity.keys import KEY_SECRET, ensure_signing_key


def test_the_operator_makes_its_key_once_and_reuses_it(
    clients: dict[str, client.ApiClient], core: Callable[[str], client.CoreV1Api], namespace: str
) -> None:
    # The operator may read Secrets only where it is bound to strongroom-vault-access.
    client.RbacAuthorizationV1Api(clients["admin"]).create_namespaced_role_binding(namespace, {
        "metadata": {"name": "strongroom-vault-access"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                    "name": "strongroom-vault-access"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "strongroom-operator"}],
    })
    first = ensure_signing_key(clients["strongroom-operator"], namespace)
    again = ensure_signing_key(clients["strongroom-operator"], namespace)
    assert len(first) == 32 and again == first
    for outsider in ("alice", "bob", "dave", "audrey"):
        with pytest.raises(ApiException) as refused:
            core(outsider).read_namespaced_secret(KEY_SECRET, namespace)
        assert refused.value.status == 403


def test_without_read_access_the_operator_fails_with_the_api_servers_refusal(
    clients: dict[str, client.ApiClient], namespace: str
) -> None:
    with pytest.raises(ApiException) as refused:
        ensure_signing_key(clients["strongroom-operator"], namespace)
    assert refused.value.status == 403
