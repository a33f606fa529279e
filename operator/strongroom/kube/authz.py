"""Questions to the API server's authorizer: may this user do that? (SubjectAccessReview)"""

from __future__ import annotations

from collections.abc import Sequence

from kubernetes import client

from strongroom.api.group import GROUP


def may(
    api: client.ApiClient,
    user: str,
    groups: Sequence[str],
    *,
    verb: str,
    resource: str,
    namespace: str,
    group: str = "",
) -> bool:
    review = client.AuthorizationV1Api(api).create_subject_access_review(
        client.V1SubjectAccessReview(spec=client.V1SubjectAccessReviewSpec(
            user=user,
            groups=list(groups),
            resource_attributes=client.V1ResourceAttributes(
                verb=verb, resource=resource, group=group, namespace=namespace
            ),
        ))
    )
    return bool(review.status.allowed)


def is_admin(api: client.ApiClient, user: str, groups: Sequence[str], namespace: str) -> bool:
    """A Strongroom admin of a namespace is whoever may revoke (delete) its Grants."""
    return may(api, user, groups, verb="delete", resource="grants", namespace=namespace, group=GROUP)


def can_read_secrets(api: client.ApiClient, user: str, groups: Sequence[str], namespace: str) -> bool:
    return may(api, user, groups, verb="get", resource="secrets", namespace=namespace)


def self_may(api: client.ApiClient, *, verb: str, resource: str, namespace: str = "", group: str = "") -> bool:
    """May the caller of `api` do this? (SelfSubjectAccessReview; namespace "" means every namespace)"""
    review = client.AuthorizationV1Api(api).create_self_subject_access_review(
        client.V1SelfSubjectAccessReview(spec=client.V1SelfSubjectAccessReviewSpec(
            resource_attributes=client.V1ResourceAttributes(
                verb=verb, resource=resource, group=group, namespace=namespace or None)))
    )
    return bool(review.status.allowed)


def whoami(api: client.ApiClient) -> str:
    """The authenticated user name of `api`'s caller (SelfSubjectReview)."""
    review = client.AuthenticationV1Api(api).create_self_subject_review(
        client.V1SelfSubjectReview(metadata=client.V1ObjectMeta()))
    return str(review.status.user_info.username)
