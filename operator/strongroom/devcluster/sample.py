"""A sample vault on the local control plane: a vault namespace holding a Safe, an Account and its
Secret, and a team namespace where the people are bound to Strongroom's roles. Used by the demo and
by the tests; applying it twice changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kubernetes import client

from strongroom.api.group import API_VERSION
from strongroom.codegen import rbac
from strongroom.devcluster.users import OPERATOR_NAMESPACE, OPERATOR_SERVICE_ACCOUNT
from strongroom.kube.client import apply

SAFE = "prod-db"
ACCOUNT = "db"
SECRET = "db-admin"


@dataclass(frozen=True)
class Sample:
    vault: str
    team: str
    safe: str = SAFE
    account: str = ACCOUNT


def _subject(kind: str, who: str) -> dict[str, str]:
    if kind == "ServiceAccount":
        namespace, _, name = who.partition("/")
        return {"kind": kind, "name": name, "namespace": namespace}
    return {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": who}


def binding(namespace: str, name: str, role: str, subjects: list[tuple[str, str]]) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": name, "namespace": namespace},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": [_subject(kind, who) for kind, who in subjects],
    }


def seed(admin: client.ApiClient, vault: str, team: str, password: str, safe_spec: dict[str, Any]) -> Sample:
    """Apply the sample as `admin`. `safe_spec` is the Safe's spec; its policy delivers to `team`."""
    apply(admin, [
        *({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}} for ns in (vault, team)),
        binding(vault, "strongroom-operator-vault-access", rbac.VAULT_ACCESS_ROLE,
                [("ServiceAccount", f"{OPERATOR_NAMESPACE}/{OPERATOR_SERVICE_ACCOUNT}")]),
        binding(team, "strongroom-requesters", rbac.REQUESTER_ROLE, [("Group", "dev")]),
        binding(team, "strongroom-approvers", rbac.APPROVER_ROLE, [("Group", "sre-leads"), ("User", "erin")]),
        binding(team, "strongroom-auditors", rbac.AUDITOR_ROLE, [("Group", "auditors")]),
        {**binding("", "strongroom-catalog", rbac.CATALOG_ROLE, [("Group", "dev"), ("Group", "sre-leads")]),
         "kind": "ClusterRoleBinding", "metadata": {"name": "strongroom-catalog"}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": SECRET, "namespace": vault},
         "stringData": {"password": password, "sslmode": "require"}},
        {"apiVersion": API_VERSION, "kind": "Safe", "metadata": {"name": SAFE, "namespace": vault}, "spec": safe_spec},
        {"apiVersion": API_VERSION, "kind": "Account", "metadata": {"name": ACCOUNT, "namespace": vault}, "spec": {
            "safe": SAFE, "username": "postgres", "host": "db.internal", "port": 5432,
            "secretRef": {"name": SECRET}, "fields": {"sslmode": "require"}}},
    ])
    return Sample(vault, team)
