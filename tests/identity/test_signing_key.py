"""The sealing key lives in the operator's namespace, is made once, and nobody else can read it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from strongroom.devcluster.operator_process import Replica
from strongroom.devcluster.users import OPERATOR_NAMESPACE
from strongroom.identity.sealing_key import KEY_SECRET, ensure_signing_key
from strongroom.kube.client import api_client
from strongroom.kube.rest import Kube


def test_the_operator_makes_its_key_once_and_reuses_it_and_nobody_else_reads_it(
    cluster, crds, core: Callable[[str], client.CoreV1Api], tmp_path: Path
) -> None:
    replica = Replica.create(cluster.local, tmp_path)
    try:
        kube = Kube(api_client(replica.kubeconfig))
        first = ensure_signing_key(kube, OPERATOR_NAMESPACE)
        assert len(first) == 32 and ensure_signing_key(kube, OPERATOR_NAMESPACE) == first
    finally:
        replica.remove()
    for outsider in ("alice", "bob", "dave", "audrey"):
        with pytest.raises(ApiException) as refused:
            core(outsider).read_namespaced_secret(KEY_SECRET, OPERATOR_NAMESPACE)
        assert refused.value.status == 403


def test_without_read_access_the_operator_fails_with_the_api_servers_refusal(
    cluster, crds, namespace: str, tmp_path: Path
) -> None:
    replica = Replica.create(cluster.local, tmp_path)
    try:
        with pytest.raises(ApiException) as refused:
            ensure_signing_key(Kube(api_client(replica.kubeconfig)), namespace)
        assert refused.value.status == 403
    finally:
        replica.remove()
