"""Reading Strongroom objects and their surroundings from the API server (the shell's eyes)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from strongroom.api.accessrequest import AccessRequest
from strongroom.api.account import Account
from strongroom.api.common import Resource
from strongroom.api.grant import Grant
from strongroom.api.group import GROUP, VERSION
from strongroom.api.phases import GrantPhase, is_terminal
from strongroom.api.safe import Safe

R = TypeVar("R", bound=Resource)
# Independent reads go out together: a decision's latency is one round trip, not the sum of six.
_READERS = ThreadPoolExecutor(max_workers=16, thread_name_prefix="strongroom-read")
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


def field_selector(equal: Mapping[str, str], unequal: Mapping[str, Iterable[str]] | None = None) -> str:
    """A field selector: every `equal` field has its value, no `unequal` field has any of its values.
    Values are escaped as the API server expects (user names may hold `,` or `=`)."""
    def escaped(value: str) -> str:
        return value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")

    terms = [f"{field}={escaped(value)}" for field, value in equal.items()]
    terms += [f"{field}!={escaped(value)}" for field, values in (unequal or {}).items() for value in values]
    return ",".join(terms)


def list_all(api: client.ApiClient, kind: type[R], namespace: str | None = None, *, fields: str = "") -> list[R]:
    """Every object of `kind` (in `namespace`, or cluster-wide), narrowed by the field selector `fields`."""
    objects = client.CustomObjectsApi(api)
    listed = (
        objects.list_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL[kind], field_selector=fields)
        if namespace
        else objects.list_cluster_custom_object(GROUP, VERSION, PLURAL[kind], field_selector=fields)
    )
    return [kind.from_object(item) for item in listed["items"]]


_ENDED = {"status.phase": [phase.value for phase in GrantPhase if is_terminal(phase)]}


def live_grants_in_vault(api: client.ApiClient, namespace: str) -> list[Grant]:
    """The Grants not ended of every Account in one vault namespace."""
    return list_all(api, Grant, fields=field_selector({"spec.account.namespace": namespace}, _ENDED))


def grants_of_account(api: client.ApiClient, namespace: str, name: str, *, live: bool = False) -> list[Grant]:
    """The Grants of one Account (in any namespace); with `live`, only those not ended."""
    equal = {"spec.account.namespace": namespace, "spec.account.name": name}
    return list_all(api, Grant, fields=field_selector(equal, _ENDED if live else None))


def live_grants_of(api: client.ApiClient, user: str) -> list[Grant]:
    """The Grants of one user that have not ended, for any Account."""
    return list_all(api, Grant, fields=field_selector({"spec.subject.user": user}, _ENDED))


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


def accounts_of_safe(api: client.ApiClient, namespace: str, safe: str) -> list[Account]:
    return list_all(api, Account, namespace, fields=field_selector({"spec.safe": safe}))


def together(*reads: Callable[[], Any]) -> list[Any]:
    """Run independent reads at once and return their results in order (the first error is raised)."""
    futures = [_READERS.submit(read) for read in reads]
    return [future.result() for future in futures]
