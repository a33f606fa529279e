"""Small helpers over the official `kubernetes` client: clients from kubeconfigs, server-side apply."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from kubernetes import client, config
from kubernetes.dynamic import DynamicClient

FIELD_MANAGER = "strongroom"


def api_client(kubeconfig: Path | str | None = None, context: str | None = None) -> client.ApiClient:
    """An API client for a kubeconfig (the default loading rules when None), or in-cluster config."""
    if kubeconfig is None and context is None:
        try:
            config.load_incluster_config()
            return client.ApiClient()
        except config.ConfigException:
            pass
    return config.new_client_from_config(
        config_file=str(kubeconfig) if kubeconfig else None, context=context
    )


def apply(api: client.ApiClient, objects: Iterable[dict[str, Any]], namespace: str | None = None) -> None:
    """Server-side apply each object, as kubectl apply --server-side would."""
    dynamic = DynamicClient(api)
    for obj in objects:
        resource = dynamic.resources.get(api_version=obj["apiVersion"], kind=obj["kind"])
        ns = obj["metadata"].get("namespace") or (namespace if resource.namespaced else None)
        resource.server_side_apply(body=obj, namespace=ns, field_manager=FIELD_MANAGER, force_conflicts=True)
