"""The generated CRDs install on the real kube-apiserver, and the server itself refuses malformed objects."""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from strongroom.api.group import API_VERSION, GROUP, VERSION
from strongroom.devcluster import install
from tests.waiting import eventually
from tests.world import policies_enforced

SAFE = {
    "apiVersion": API_VERSION, "kind": "Safe", "metadata": {"name": "prod-db"},
    "spec": {
        "members": [{"groups": ["dev"]}],
        "approvers": {"groups": ["sre-leads"]},
        "policy": {"requiredApprovals": 2, "allowedNamespaces": {"names": ["team"]}},
    },
}
ACCOUNT = {
    "apiVersion": API_VERSION, "kind": "Account", "metadata": {"name": "postgres-admin"},
    "spec": {"safe": "prod-db", "username": "postgres", "secretRef": {"name": "postgres-admin"}},
}
REQUEST = {
    "apiVersion": API_VERSION, "kind": "AccessRequest", "metadata": {"name": "fix-index"},
    "spec": {"account": {"namespace": "vault", "name": "postgres-admin"}, "reason": "INC-1", "duration": "30m",
             "requester": "admin"},  # the identity policy: a request's requester is its creator
}
GRANT = {
    "apiVersion": API_VERSION, "kind": "Grant", "metadata": {"name": "standing"},
    "spec": {
        "account": {"namespace": "vault", "name": "postgres-admin"},
        "subject": {"user": "alice"},
        "notBefore": "2030-01-01T10:00:00Z", "notAfter": "2030-01-01T11:00:00Z",
        "secretName": "standing-credential", "source": {"direct": True}, "issuedBy": "admin",
    },
}


def with_spec(obj: dict[str, Any], **changes: Any) -> dict[str, Any]:
    changed = copy.deepcopy(obj)
    changed["spec"].update(changes)
    return changed


def create(api: client.CustomObjectsApi, namespace: str, obj: dict[str, Any]) -> dict[str, Any]:
    plural = obj["kind"].lower() + "s"
    return api.create_namespaced_custom_object(GROUP, VERSION, namespace, plural, obj)


def refusal(api: client.CustomObjectsApi, namespace: str, obj: dict[str, Any]) -> str:
    with pytest.raises(ApiException) as refused:
        create(api, namespace, obj)
    assert refused.value.status == 422, refused.value.body
    return refused.value.body


def test_every_kind_is_established_and_listed_under_the_strongroom_category(crds: list[dict]) -> None:
    names = {crd["metadata"]["name"] for crd in crds}
    assert names == {f"{plural}.{GROUP}" for plural in ("safes", "accounts", "accessrequests", "grants",
                                                                     "leaderfences")}
    assert all("strongroom" in crd["spec"]["names"]["categories"] for crd in crds
               if crd["spec"]["names"]["kind"] != "LeaderFence")


def test_well_formed_objects_of_every_kind_are_accepted(
    crds: list[dict], clients: dict[str, client.ApiClient], namespace: str
) -> None:
    api = client.CustomObjectsApi(clients["admin"])
    for obj in (SAFE, ACCOUNT, REQUEST, GRANT):
        assert create(api, namespace, obj)["metadata"]["uid"]
    stored = api.get_namespaced_custom_object(GROUP, VERSION, namespace, "safes", "prod-db")
    assert stored["spec"]["policy"]["defaultDuration"] == "60m", "the schema's defaults apply on the server"


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        (with_spec(SAFE, blocked=True), "blockedReason"),
        (with_spec(SAFE, policy={"requiredApprovals": -1}), "requiredApprovals"),
        (with_spec(SAFE, members=[{"users": ["alice"], "schedule": "office-hours"}]), "schedule"),
        (with_spec(ACCOUNT, type="telnet"), "type"),
        (with_spec(REQUEST, duration="soon"), "duration"),
        (with_spec(REQUEST, window={"start": "2030-01-01T10:00:00Z", "end": "2030-01-01T11:00:00Z"}),
         "either duration or window"),
        (with_spec(GRANT, notAfter="2029-12-31T10:00:00Z"), "notBefore"),
    ],
    ids=["blocked-without-reason", "negative-approvals", "unknown-schedule", "unknown-account-type",
         "malformed-duration", "duration-and-window", "grant-ends-before-it-starts"],
)
def test_the_api_server_refuses_a_malformed_object(
    crds: list[dict], clients: dict[str, client.ApiClient], namespace: str, obj: dict[str, Any], expected: str
) -> None:
    assert expected in refusal(client.CustomObjectsApi(clients["admin"]), namespace, obj)


def test_the_api_server_refuses_to_change_a_request_spec_except_to_release_it(
    crds: list[dict], clients: dict[str, client.ApiClient], namespace: str
) -> None:
    api = client.CustomObjectsApi(clients["admin"])
    create(api, namespace, REQUEST)
    with pytest.raises(ApiException) as refused:
        api.patch_namespaced_custom_object(
            GROUP, VERSION, namespace, "accessrequests", "fix-index", {"spec": {"duration": "8h"}})
    assert refused.value.status == 422 and "immutable" in refused.value.body
    released = api.patch_namespaced_custom_object(
        GROUP, VERSION, namespace, "accessrequests", "fix-index", {"spec": {"release": True, "releasedBy": "admin"}})
    assert released["spec"]["release"] is True
    with pytest.raises(ApiException) as refused:
        api.patch_namespaced_custom_object(
            GROUP, VERSION, namespace, "accessrequests", "fix-index", {"spec": {"release": False}})
    assert refused.value.status == 422


def test_the_api_server_keeps_terminal_phases_and_recorded_times(
    crds: list[dict], clients: dict[str, client.ApiClient], namespace: str
) -> None:
    """The CRD's own rules, which hold even for the operator (everyone else may only add reviews: the
    identity policy, set aside here to reach the CRD's rules)."""
    api = client.CustomObjectsApi(clients["admin"])
    with without_identity_policy(clients["admin"]):
        _terminal_phases_and_recorded_times(api, namespace)


@contextlib.contextmanager
def without_identity_policy(admin: client.ApiClient) -> Iterator[None]:
    install.remove_identity_policy(admin)
    try:
        eventually(lambda: not policies_enforced(admin), what="the identity policy no longer enforced")
        yield
    finally:
        install.install(admin, webhooks=False)
        eventually(lambda: policies_enforced(admin), what="the identity policy enforced again")


def _terminal_phases_and_recorded_times(api: client.CustomObjectsApi, namespace: str) -> None:
    create(api, namespace, REQUEST)

    def status(patch: dict[str, Any]) -> dict[str, Any]:
        return api.patch_namespaced_custom_object_status(
            GROUP, VERSION, namespace, "accessrequests", "fix-index", {"status": patch},
            _content_type="application/merge-patch+json")

    status({"phase": "Pending", "createdAt": "2030-01-01T10:00:00Z"})
    status({"phase": "Denied", "finishedAt": "2030-01-01T10:05:00Z"})
    for bad in ({"phase": "Active"}, {"phase": "Pending"}, {"finishedAt": None}):
        with pytest.raises(ApiException) as refused:
            status(bad)
        assert refused.value.status == 422, bad
