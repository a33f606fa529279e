"""Reading Strongroom objects and their surroundings from the API server (the shell's eyes)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from strongroom.models.accessrequest import AccessRequest
from strongroom.models.account import Account
from strongroom.models.api import GROUP, VERSION
from strongroom.models.common import Resource
from strongroom.models.grant import Grant
from strongroom.models.safe import Safe

R = TypeVar("R", bound=Resource)
PLURAL: dict[type[Resource], str] = {Safe: "safes", Account: "accounts", AccessRequest: "accessrequests",
                                     Grant: "grants"}


def get(api: client.ApiClient, kind: type[R], namespace: str, name: str) -> R | None:
    try:
        obj = client.CustomObjectsApi(api).get_namespaced_custom_object(
            GROUP, VERSION, namespace, PLURAL[kind], name)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise
    return kind.from_object(obj)


def list_all(api: client.ApiClient, kind: type[R], namespace: str | None = None) -> list[R]:
    objects = client.CustomObjectsApi(api)
    listed = (
        objects.list_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL[kind])
        if namespace
        else objects.list_cluster_custom_object(GROUP, VERSION, PLURAL[kind])
    )
    return [kind.from_object(item) for item in listed["items"]]


def patch_status(api: client.ApiClient, obj: Resource, status: Mapping[str, Any]) -> dict[str, Any]:
    """Merge-patch the status subresource, only if the object is still as read (a 409 otherwise).
    Reviews are never part of it: they are the approvers'."""
    body = {"metadata": {"resourceVersion": obj.metadata.get("resourceVersion")}, "status": dict(status)}
    return client.CustomObjectsApi(api).patch_namespaced_custom_object_status(
        GROUP, VERSION, obj.namespace, PLURAL[type(obj)], obj.name, body,
        _content_type="application/merge-patch+json",
    )


def namespace_labels(api: client.ApiClient, namespace: str) -> dict[str, str]:
    try:
        return dict(client.CoreV1Api(api).read_namespace(namespace).metadata.labels or {})
    except ApiException as exc:
        if exc.status == 404:
            return {}
        raise


def account_and_safe(api: client.ApiClient, namespace: str, name: str) -> tuple[Account | None, Safe | None]:
    account = get(api, Account, namespace, name)
    if account is None:
        return None, None
    return account, get(api, Safe, namespace, account.spec.safe)
