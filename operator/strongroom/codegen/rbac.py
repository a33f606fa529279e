"""The ClusterRoles Strongroom ships: the operator's own least-privilege role and the people's roles.

One source for the local control plane, the tests and the Helm chart (which is generated from it).
"""

from __future__ import annotations

from typing import Any

from strongroom.api.group import GROUP
from strongroom.webhook.configurations import MUTATING_CONFIGURATION

OPERATOR_ROLE = "strongroom-operator"
VAULT_ACCESS_ROLE = "strongroom-vault-access"
LEADER_ROLE = "strongroom-operator-leader"
ADMIN_ROLE = "strongroom-admin"
SAFE_ADMIN_ROLE = "strongroom-safe-admin"
GRANTOR_ROLE = "strongroom-grantor"
APPROVER_ROLE = "strongroom-approver"
REQUESTER_ROLE = "strongroom-requester"
AUDITOR_ROLE = "strongroom-auditor"
VIEW_ROLE = "strongroom-view"
CATALOG_ROLE = "strongroom-catalog"

KINDS = ["safes", "accounts", "accessrequests", "grants"]
READ = ["get", "list", "watch"]
WRITE = ["create", "update", "patch", "delete"]
GRANT_VERB = "grant"  # on safes (by name): may issue Grants of the Safe's accounts directly



def _rule(groups: list[str], resources: list[str], verbs: list[str], names: list[str] | None = None
          ) -> dict[str, Any]:
    rule = {"apiGroups": groups, "resources": resources, "verbs": verbs}
    return {**rule, "resourceNames": names} if names else rule


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
    """What the operator needs cluster-wide. It may create and delete Secrets, Roles and RoleBindings to
    deliver credentials and the right to read them, but read no Secret: reading vaulted material takes
    `vault_access_role`, bound in the namespaces that hold Accounts and in its own namespace. What it
    creates and deletes is narrowed further by the API server (webhook.policies: scope and fence). It
    cannot create webhook configurations, only put its CA into Strongroom's own."""
    return _cluster_role(
        OPERATOR_ROLE,
        [
            _rule([GROUP], KINDS, READ),
            # Watched cluster-wide like every kind the operator follows; written only where the leader
            # role is bound (its own namespace).
            _rule([GROUP], ["leaderfences"], READ),
            _rule([GROUP], ["grants"], ["create"]),
            _rule([GROUP], ["accessrequests"], ["delete"]),
            _rule([GROUP], [f"{kind}/status" for kind in KINDS], ["get", "patch", "update"]),
            _rule([""], ["secrets"], ["create", "delete", "deletecollection"]),
            # A per-grant Role lets one user read one Secret the operator may not read itself: creating
            # it takes `escalate`, binding it `bind`. The scope policy allows nothing else of the kind.
            _rule(["rbac.authorization.k8s.io"], ["roles"], ["create", "escalate", "bind"]),
            _rule(["rbac.authorization.k8s.io"], ["rolebindings"], ["create"]),
            _rule([""], ["namespaces"], READ),
            _rule(["", "events.k8s.io"], ["events"], ["create", "patch"]),
            _rule(["authorization.k8s.io"], ["subjectaccessreviews"], ["create"]),
            _rule(["authentication.k8s.io"], ["selfsubjectreviews"], ["create"]),
            _rule(["admissionregistration.k8s.io"], ["mutatingwebhookconfigurations"], ["get", "patch"],
                  [MUTATING_CONFIGURATION]),
        ],
    )


def vault_access_role() -> dict[str, Any]:
    """Bound with a RoleBinding (never cluster-wide) where the operator must read or rotate Secrets."""
    return _cluster_role(VAULT_ACCESS_ROLE, [_rule([""], ["secrets"], ["get", "update", "patch"])])


def leader_role() -> dict[str, Any]:
    """Bound in the operator's own namespace: the leader Lease, each replica's heartbeat Lease, and the
    LeaderFence the leader names itself in."""
    return _cluster_role(LEADER_ROLE, [
        _rule(["coordination.k8s.io"], ["leases"], [*READ, "create", "update", "patch", "delete"]),
        _rule([GROUP], ["leaderfences"], ["create", "update", "patch"]),
    ])


def people_roles() -> list[dict[str, Any]]:
    """The roles people are given; bind them with RoleBindings (or ClusterRoleBindings for admins).
    None is aggregated into the built-in admin or edit roles: a namespace admin is not a Strongroom
    admin. Only read access to Strongroom's objects goes into `view`."""
    return [
        _cluster_role(
            ADMIN_ROLE,
            [
                _rule([GROUP], KINDS, [*READ, *WRITE, "deletecollection"]),
                _rule([GROUP], [f"{kind}/status" for kind in KINDS], READ),
                _rule([GROUP], ["safes"], [GRANT_VERB]),
            ],
        ),
        _cluster_role(
            SAFE_ADMIN_ROLE,
            [
                _rule([GROUP], ["safes", "accounts"], [*READ, *WRITE]),
                _rule([GROUP], ["accessrequests", "grants"], READ),
                _rule([""], ["secrets"], [*READ, *WRITE]),
            ],
        ),
        # Bound in the vault namespace (the `grant` verb on its Safes; resourceNames narrow it to some)
        # and in the namespace the Grants are issued in (create).
        _cluster_role(
            GRANTOR_ROLE,
            [
                _rule([GROUP], ["safes"], ["get", GRANT_VERB]),
                _rule([GROUP], ["grants"], [*READ, "create", "delete"]),
            ],
        ),
        _cluster_role(
            APPROVER_ROLE,
            [
                _rule([GROUP], ["safes", "accounts", "accessrequests", "grants"], READ),
                _rule([GROUP], ["accessrequests/status"], ["get", "patch", "update"]),
            ],
        ),
        # No Secret rights at all: the operator lets a requester read exactly the Secret delivered to
        # them, for exactly their window.
        _cluster_role(
            REQUESTER_ROLE,
            [
                _rule([GROUP], ["safes", "accounts"], READ),
                _rule([GROUP], ["accessrequests"], [*READ, "create", "patch", "update"]),
                _rule([GROUP], ["grants"], READ),
            ],
        ),
        _cluster_role(
            AUDITOR_ROLE,
            [
                _rule([GROUP], KINDS, READ),
                _rule([""], ["events"], READ),
                _rule(["events.k8s.io"], ["events"], READ),
                # restored request history (strongroom restore); only this one ConfigMap by name
                _rule([""], ["configmaps"], ["get"], ["strongroom-restored-history"]),
            ],
        ),
        _cluster_role(VIEW_ROLE, [_rule([GROUP], KINDS, READ)], aggregate_to=("view",)),
        # Bound cluster-wide to the people who request or approve, so `strongroom accounts` and `pending`
        # can find Safes and Accounts in the vault namespaces; it holds no Secret and no request.
        _cluster_role(CATALOG_ROLE, [_rule([GROUP], ["safes", "accounts"], READ)]),
    ]


def all_cluster_roles() -> list[dict[str, Any]]:
    return [operator_role(), vault_access_role(), leader_role(), *people_roles()]
