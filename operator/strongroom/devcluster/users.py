"""The people (and the operator) of the local control plane, authenticated by static tokens."""

from __future__ import annotations

from dataclasses import dataclass

OPERATOR_USER = "strongroom-operator"
OPERATOR_NAMESPACE = "strongroom-system"


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
    User(OPERATOR_USER, ("strongroom:operators",), "the operator, bound only to its own ClusterRole"),
)

# Internal identity of kube-controller-manager; not one of the people.
CONTROLLER_MANAGER = User("system:kube-controller-manager", ("system:masters",), "kube-controller-manager")

USER_NAMES = tuple(user.name for user in USERS)
