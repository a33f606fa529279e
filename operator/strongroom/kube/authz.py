"""Questions to the API server's authorizer: may this user do that? (SubjectAccessReview)"""

from __future__ import annotations

from collections.abc import Sequence

from strongroom.api.group import GROUP
from strongroom.kube.rest import Kube

GRANT_VERB = "grant"  # on safes/<name>: may issue Grants of the Safe's accounts directly


def may(kube: Kube, user: str, groups: Sequence[str], *, verb: str, resource: str, namespace: str,
        group: str = "", name: str = "") -> bool:
    attributes = {"verb": verb, "resource": resource, "group": group, "namespace": namespace,
                  **({"name": name} if name else {})}
    review = kube.create("/apis/authorization.k8s.io/v1/subjectaccessreviews", {
        "apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
        "spec": {"user": user, "groups": list(groups), "resourceAttributes": attributes}})
    return bool(review.get("status", {}).get("allowed"))


def may_release(kube: Kube, user: str, groups: Sequence[str], namespace: str) -> bool:
    """Someone other than the requester may release a request when they may revoke (delete) Grants there."""
    return may(kube, user, groups, verb="delete", resource="grants", namespace=namespace, group=GROUP)


def may_grant(kube: Kube, user: str, groups: Sequence[str], vault: str, safe: str) -> bool:
    """May `user` issue Grants of the Safe's accounts directly (the Safe-scoped `grant` verb)?"""
    return may(kube, user, groups, verb=GRANT_VERB, resource="safes", namespace=vault, group=GROUP, name=safe)
