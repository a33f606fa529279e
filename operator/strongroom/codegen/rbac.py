"""The ClusterRoles Strongroom ships: the operator's own least-privilege role and the people's roles.

One source for the local control plane, the tests and the Helm chart (which is generated from it).
"""

from __future__ import annotations

from typing import Any

from strongroom.api.group import GROUP

OPERATOR_ROLE = "strongroom-operator"
VAULT_ACCESS_ROLE = "strongroom-vault-access"
ADMIN_ROLE = "strongroom-admin"
SAFE_ADMIN_ROLE = "strongroom-safe-admin"
APPROVER_ROLE = "strongroom-approver"
REQUESTER_ROLE = "strongroom-requester"
AUDITOR_ROLE = "strongroom-auditor"
CATALOG_ROLE = "strongroom-catalog"

KINDS = ["safes", "accounts", "accessrequests", "grants"]
READ = ["get", "list", "watch"]
WRITE = ["create", "update", "patch", "delete"]


def _rule(groups: list[str], resources: list[str], verbs: list[str]) -> dict[str, Any]:
    return {"apiGroups": groups, "resources": resources, "verbs": verbs}


def _cluster_role(name: str, rules: list[dict[str, Any]], aggregate_to: tuple[str, ...] = ()) -> dict[str, Any]:
    labels = {"app.kubernetes.io/part-of": "strongroom"}
    labels |= {f"rbac.authorization.k8s.io/aggregate-to-{role}": "true" for role in aggregate_to}
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": name, "labels": labels},
        "rules": rules,
    }


def operator_role() -> dict[str, Any]:
    """What the operator needs cluster-wide. It may create and delete Secrets (to deliver and withdraw
    credentials) but not read them: reading vaulted material takes `vault_access_role`, bound in the
    namespaces that hold Accounts and in the operator's own namespace."""
    return _cluster_role(
        OPERATOR_ROLE,
        [
            _rule([GROUP], KINDS, [*READ, "patch", "update"]),
            _rule([GROUP], ["grants"], ["create", "delete"]),
            _rule([GROUP], ["accessrequests"], ["delete"]),
            _rule([GROUP], [f"{kind}/status" for kind in KINDS], ["get", "patch", "update"]),
            _rule([GROUP], [f"{kind}/finalizers" for kind in KINDS], ["update"]),
            _rule([""], ["secrets"], ["create", "delete"]),
            _rule([""], ["namespaces"], READ),
            _rule(["", "events.k8s.io"], ["events"], ["create", "patch"]),
            _rule(["authorization.k8s.io"], ["subjectaccessreviews"], ["create"]),
            _rule(["apiextensions.k8s.io"], ["customresourcedefinitions"], READ),
            _rule(
                ["admissionregistration.k8s.io"],
                ["mutatingwebhookconfigurations", "validatingwebhookconfigurations"],
                [*READ, "create", "patch", "update"],
            ),
        ],
    )


def vault_access_role() -> dict[str, Any]:
    """Bound with a RoleBinding (never cluster-wide) where the operator must read or rotate Secrets."""
    return _cluster_role(VAULT_ACCESS_ROLE, [_rule([""], ["secrets"], ["get", "update", "patch"])])


def people_roles() -> list[dict[str, Any]]:
    """The roles people are given; bind them with RoleBindings (or ClusterRoleBindings for admins)."""
    return [
        _cluster_role(
            ADMIN_ROLE,
            [
                _rule([GROUP], KINDS, [*READ, *WRITE, "deletecollection"]),
                _rule([GROUP], [f"{kind}/status" for kind in KINDS], READ),
            ],
            aggregate_to=("admin",),
        ),
        _cluster_role(
            SAFE_ADMIN_ROLE,
            [
                _rule([GROUP], ["safes", "accounts"], [*READ, *WRITE]),
                _rule([GROUP], ["accessrequests", "grants"], READ),
                _rule([""], ["secrets"], [*READ, *WRITE]),
            ],
        ),
        _cluster_role(
            APPROVER_ROLE,
            [
                _rule([GROUP], ["safes", "accounts", "accessrequests", "grants"], READ),
                _rule([GROUP], ["accessrequests/status"], ["get", "patch", "update"]),
            ],
        ),
        _cluster_role(
            REQUESTER_ROLE,
            [
                _rule([GROUP], ["safes", "accounts"], READ),
                _rule([GROUP], ["accessrequests"], [*READ, "create", "patch", "update"]),
                _rule([GROUP], ["grants"], READ),
                _rule([""], ["secrets"], ["get", "list"]),
            ],
            aggregate_to=("edit",),
        ),
        _cluster_role(
            AUDITOR_ROLE,
            [
                _rule([GROUP], KINDS, READ),
                _rule([""], ["events"], READ),
                _rule(["events.k8s.io"], ["events"], READ),
                # restored request history (strongroom restore); only this one ConfigMap by name
                {**_rule([""], ["configmaps"], ["get"]), "resourceNames": ["strongroom-restored-history"]},
            ],
            aggregate_to=("view",),
        ),
        # Bound cluster-wide to the people who request or approve, so `strongroom accounts` and `pending`
        # can find Safes and Accounts in the vault namespaces; it holds no Secret and no request.
        _cluster_role(CATALOG_ROLE, [_rule([GROUP], ["safes", "accounts"], READ)]),
    ]


def all_cluster_roles() -> list[dict[str, Any]]:
    return [operator_role(), vault_access_role(), *people_roles()]
