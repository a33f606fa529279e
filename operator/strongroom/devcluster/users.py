"""The people of the local control plane (authenticated by static tokens) and the operator's identity
(a ServiceAccount whose pod-bound tokens name each replica's pod, as in a cluster)."""

from __future__ import annotations

from dataclasses import dataclass

OPERATOR_NAMESPACE = "strongroom-system"
OPERATOR_SERVICE_ACCOUNT = "strongroom-operator"
OPERATOR_USER = f"system:serviceaccount:{OPERATOR_NAMESPACE}:{OPERATOR_SERVICE_ACCOUNT}"
LEASE_NAME = "strongroom-operator"
WEBHOOK_SERVICE = "strongroom-webhook"


@dataclass(frozen=True)
class User:
    name: str
    groups: tuple[str, ...]
    about: str


USERS: tuple[User, ...] = (
    User("admin", ("system:masters",), "cluster-admin"),
    User("alice", ("dev",), "requester"),
    User("erin", ("dev",), "requester"),
    User("bob", ("sre-leads",), "approver"),
    User("carol", ("sre-leads",), "approver"),
    User("dave", (), "authenticated, no rights"),
    User("audrey", ("auditors",), "auditor"),
)

# Internal identity of kube-controller-manager; not one of the people.
CONTROLLER_MANAGER = User("system:kube-controller-manager", ("system:masters",), "kube-controller-manager")

USER_NAMES = tuple(user.name for user in USERS)
