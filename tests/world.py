"""A realistic little world for one test: a vault namespace with a Safe, an Account and its Secret, and
a team namespace where requesters file requests, with the people bound to Strongroom's roles."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from strongroom.api.group import API_VERSION, GROUP, VERSION
from strongroom.devcluster.sample import ACCOUNT, SAFE, seed
from strongroom.webhook.configurations import MUTATING_CONFIGURATION
from tests.waiting import eventually

PLURALS = {"Safe": "safes", "Account": "accounts", "AccessRequest": "accessrequests", "Grant": "grants"}


@dataclass
class World:
    clients: dict[str, client.ApiClient]
    vault: str
    team: str
    password: str
    safe: str = SAFE
    account: str = ACCOUNT

    def objects(self, user: str) -> client.CustomObjectsApi:
        return client.CustomObjectsApi(self.clients[user])

    def core(self, user: str) -> client.CoreV1Api:
        return client.CoreV1Api(self.clients[user])

    def create(self, user: str, kind: str, spec: dict[str, Any], name: str | None = None,
               namespace: str | None = None) -> dict[str, Any]:
        body = {"apiVersion": API_VERSION, "kind": kind,
                "metadata": {"name": name or f"{kind.lower()}-{secrets.token_hex(3)}"}, "spec": spec}
        return self.objects(user).create_namespaced_custom_object(
            GROUP, VERSION, namespace or self.team, PLURALS[kind], body)

    def get(self, kind: str, name: str, namespace: str | None = None, user: str = "admin") -> dict[str, Any]:
        return self.objects(user).get_namespaced_custom_object(
            GROUP, VERSION, namespace or self.team, PLURALS[kind], name)

    def patch(self, user: str, kind: str, name: str, body: dict[str, Any], namespace: str | None = None
              ) -> dict[str, Any]:
        return self.objects(user).patch_namespaced_custom_object(
            GROUP, VERSION, namespace or self.team, PLURALS[kind], name, body)

    def patch_status(self, user: str, kind: str, name: str, body: Any, namespace: str | None = None
                     ) -> dict[str, Any]:
        """A list body is sent as a JSON patch, a dict as a merge patch."""
        content_type = "application/json-patch+json" if isinstance(body, list) else "application/merge-patch+json"
        return self.objects(user).patch_namespaced_custom_object_status(
            GROUP, VERSION, namespace or self.team, PLURALS[kind], name, body, _content_type=content_type)

    def request(self, user: str = "alice", wait: bool = True, name: str | None = None, **spec: Any
                ) -> dict[str, Any]:
        """File a request as `user`; with `wait`, return once the operator has recorded it (or decided)."""
        body = {"account": {"namespace": self.vault, "name": self.account}, "reason": "INC-1234 fix the index",
                **spec}
        created = self.create(user, "AccessRequest", body, name=name)
        if not wait:
            return created
        name = created["metadata"]["name"]
        return eventually(lambda: self.get("AccessRequest", name).get("status") and self.get("AccessRequest", name),
                          timeout=15, what=f"request {name} seen by the operator")

    def review(self, reviewer: str, request: str, decision: str = "Approve", **extra: Any) -> dict[str, Any]:
        """Append a review as `reviewer`, the way `kubectl patch --subresource=status --type=json` does."""
        review = {"decision": decision, **extra}
        status = self.get("AccessRequest", request).get("status")
        if status is None:  # not yet seen by the operator (or no operator): start the status
            op = {"op": "add", "path": "/status", "value": {"reviews": [review]}}
        elif not status.get("reviews"):
            op = {"op": "add", "path": "/status/reviews", "value": [review]}
        else:
            op = {"op": "add", "path": "/status/reviews/-", "value": review}
        return self.patch_status(reviewer, "AccessRequest", request, [op])

    def update_safe(self, **spec: Any) -> dict[str, Any]:
        return self.patch("admin", "Safe", self.safe, {"spec": spec}, namespace=self.vault)


def refusal(call: Callable[[], Any]) -> ApiException:
    """The API server's refusal of `call` (which must be refused)."""
    with pytest.raises(ApiException) as refused:
        call()
    return refused.value


def build_world(clients: dict[str, client.ApiClient], safe_spec: dict[str, Any] | None = None) -> Iterator[World]:
    suffix = secrets.token_hex(3)
    world = World(clients, vault=f"vault-{suffix}", team=f"team-{suffix}", password=f"pw-{secrets.token_hex(12)}")
    spec = dict(safe_spec or {})
    policy = {"requiredApprovals": 1, "allowedNamespaces": {"names": [world.team]}, **spec.pop("policy", {})}
    seed(clients["admin"], world.vault, world.team, world.password, {
        "description": "Production database",
        "members": [{"groups": ["dev"]}],
        "approvers": {"users": ["bob", "erin"], "groups": []},
        "policy": policy,
        **spec,
    })
    try:
        yield world
    finally:
        for ns in (world.vault, world.team):
            try:
                client.CoreV1Api(clients["admin"]).delete_namespace(ns, propagation_policy="Background")
            except ApiException as exc:
                if exc.status != 404:  # a test may have deleted it itself
                    raise


def policies_enforced(admin: client.ApiClient) -> bool:
    """The API server has loaded the admission policies (a moment after they are created): a Grant for a
    request, offered by anyone but the operator, is refused by one of them."""
    probe = {"apiVersion": "strongroom.dev/v1alpha1", "kind": "Grant", "metadata": {"generateName": "probe-"},
             "spec": {"account": {"namespace": "x", "name": "x"}, "subject": {"user": "x"},
                      "notBefore": "2030-01-01T00:00:00Z", "notAfter": "2030-01-01T01:00:00Z", "secretName": "x",
                      "source": {"accessRequest": "x"}}}
    try:
        client.CustomObjectsApi(admin).create_namespaced_custom_object("strongroom.dev", "v1alpha1", "default",
                                                                      "grants", probe, dry_run="All")
    except ApiException as refused:
        return "ValidatingAdmissionPolicy" in (refused.body or "")
    return False


def webhooks_in_effect(admin: client.ApiClient) -> bool:
    """The API server calls Strongroom's webhooks (it stops, or starts, a moment after the configuration
    changes): a new AccessRequest comes back sealed, or is refused by a webhook that cannot be reached."""
    sealed = _probe(admin)
    return sealed is True or "webhook" in str(sealed)


def webhooks_answer(admin: client.ApiClient) -> bool:
    """The API server reaches a replica's webhook server: a new AccessRequest comes back sealed (not "no
    endpoints available", as for a moment after a replica's address is listed)."""
    return _probe(admin) is True


def webhooks_configured(admin: client.ApiClient) -> bool:
    try:
        client.AdmissionregistrationV1Api(admin).read_mutating_webhook_configuration(MUTATING_CONFIGURATION)
    except ApiException as missing:
        if missing.status == 404:
            return False
        raise
    return True


def _probe(admin: client.ApiClient) -> bool | str:
    """A dry-run AccessRequest: True when it came back sealed, False unsealed, the refusal's body if refused."""
    probe = {"apiVersion": "strongroom.dev/v1alpha1", "kind": "AccessRequest", "metadata": {"generateName": "probe-"},
             "spec": {"account": {"namespace": "x", "name": "x"}}}
    try:
        made = client.CustomObjectsApi(admin).create_namespaced_custom_object(
            "strongroom.dev", "v1alpha1", "default", "accessrequests", probe, dry_run="All")
    except ApiException as refused:
        return refused.body or "refused"
    return bool(made["spec"].get("requesterSignature"))
