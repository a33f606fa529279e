"""Small helpers over the official `kubernetes` client: clients from kubeconfigs, server-side apply."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from kubernetes import client, config
from kubernetes.dynamic import DynamicClient

FIELD_MANAGER = "strongroom"


def api_client(kubeconfig: Path | str | None = None, context: str | None = None, *,
               connections: int | None = None) -> client.ApiClient:
    """An API client for a kubeconfig (the default loading rules when None), or in-cluster config.
    `connections`: how many requests may be in flight at once (the pool's size)."""
    configuration = client.Configuration()
    loaded = False
    if kubeconfig is None and context is None:
        try:
            config.load_incluster_config(client_configuration=configuration)
            loaded = True
        except config.ConfigException:
            pass
    if not loaded:
        config.load_kube_config(config_file=str(kubeconfig) if kubeconfig else None, context=context,
                                client_configuration=configuration)
    if connections is not None:
        configuration.connection_pool_maxsize = connections
    return client.ApiClient(configuration)


def apply(api: client.ApiClient, objects: Iterable[dict[str, Any]], namespace: str | None = None) -> None:
    """Server-side apply each object, as kubectl apply --server-side would."""
    dynamic = DynamicClient(api)
    for obj in objects:
        resource = dynamic.resources.get(api_version=obj["apiVersion"], kind=obj["kind"])
        ns = obj["metadata"].get("namespace") or (namespace if resource.namespaced else None)
        resource.server_side_apply(body=obj, namespace=ns, field_manager=FIELD_MANAGER, force_conflicts=True)


def self_may(api: client.ApiClient, *, verb: str, resource: str, namespace: str = "", group: str = "") -> bool:
    """May the caller of `api` do this? (SelfSubjectAccessReview; namespace "" means every namespace)"""
    review = client.AuthorizationV1Api(api).create_self_subject_access_review(
        client.V1SelfSubjectAccessReview(spec=client.V1SelfSubjectAccessReviewSpec(
            resource_attributes=client.V1ResourceAttributes(
                verb=verb, resource=resource, group=group, namespace=namespace or None)))
    )
    return bool(review.status.allowed)


def whoami(api: client.ApiClient) -> tuple[str, tuple[str, ...]]:
    """The authenticated user name and groups of `api`'s caller (SelfSubjectReview)."""
    review = client.AuthenticationV1Api(api).create_self_subject_review(
        client.V1SelfSubjectReview(api_version="authentication.k8s.io/v1", kind="SelfSubjectReview"))
    info = review.status.user_info
    return str(info.username), tuple(info.groups or ())
