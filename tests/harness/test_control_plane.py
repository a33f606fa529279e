"""The ground is real: each test fails against a fake or mocked API server."""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from strongroom.devcluster.operator_process import Replica
from strongroom.devcluster.users import OPERATOR_USER, USERS
from strongroom.kube.client import api_client, apply, whoami
from tests.harness.admission_server import serve_admission
from tests.waiting import eventually


def test_each_kubeconfig_authenticates_as_its_own_user_and_groups(clients: dict[str, client.ApiClient]) -> None:
    for user in USERS:
        review = client.AuthenticationV1Api(clients[user.name]).create_self_subject_review(
            client.V1SelfSubjectReview(metadata=client.V1ObjectMeta())
        )
        info = review.status.user_info
        assert info.username == user.name
        assert set(user.groups) <= set(info.groups)
        assert "system:authenticated" in info.groups


def test_dave_is_forbidden_to_list_secrets_while_admin_lists_them(
    core: Callable[[str], client.CoreV1Api], namespace: str
) -> None:
    core("admin").create_namespaced_secret(
        namespace, client.V1Secret(metadata=client.V1ObjectMeta(name="s"), string_data={"k": "v"})
    )
    assert [s.metadata.name for s in core("admin").list_namespaced_secret(namespace).items] == ["s"]
    with pytest.raises(ApiException) as refused:
        core("dave").list_namespaced_secret(namespace)
    assert refused.value.status == 403


def test_the_operator_identity_has_its_own_role_and_nothing_more(
    cluster, crds, core: Callable[[str], client.CoreV1Api], namespace: str, tmp_path
) -> None:
    core("admin").create_namespaced_secret(
        namespace, client.V1Secret(metadata=client.V1ObjectMeta(name="unrelated"), string_data={"k": "v"})
    )
    replica = Replica.create(cluster.local, tmp_path)
    try:
        operator = api_client(replica.kubeconfig)
        assert whoami(operator)[0] == OPERATOR_USER
        with pytest.raises(ApiException) as refused:
            client.CoreV1Api(operator).read_namespaced_secret("unrelated", namespace)
        assert refused.value.status == 403
        with pytest.raises(ApiException) as refused:
            client.RbacAuthorizationV1Api(operator).create_namespaced_role(
                namespace, client.V1Role(metadata=client.V1ObjectMeta(name="escalate"), rules=[])
            )
        assert refused.value.status in (403, 422)  # RBAC allows its per-grant Roles; the scope policy nothing else
        review = client.AuthorizationV1Api(operator).create_subject_access_review(
            client.V1SubjectAccessReview(spec=client.V1SubjectAccessReviewSpec(
                user="alice", resource_attributes=client.V1ResourceAttributes(
                    namespace=namespace, verb="get", resource="secrets")))
        )
        assert review.status.allowed is False
    finally:
        replica.remove()


def test_clusterrole_aggregation_runs_as_in_any_cluster_and_gives_admins_no_strongroom_writes(
    clients: dict[str, client.ApiClient], crds
) -> None:
    """kube-controller-manager runs its default controllers: the built-in roles collect the rules of
    every role labelled for them, so what Strongroom labels is exactly what namespace admins get."""
    rbac = client.RbacAuthorizationV1Api(clients["admin"])

    def strongroom_verbs(role: str) -> set[str]:
        rules = rbac.read_cluster_role(role).rules or []
        return {verb for rule in rules if "strongroom.dev" in (rule.api_groups or []) for verb in rule.verbs}

    eventually(lambda: strongroom_verbs("view") == {"get", "list", "watch"}, what="view aggregated")
    for role in ("admin", "edit"):
        assert strongroom_verbs(role) == {"get", "list", "watch"}, role


def test_an_applied_crd_becomes_established_and_is_served(clients: dict[str, client.ApiClient], namespace: str) -> None:
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.harness.strongroom.dev"},
        "spec": {
            "group": "harness.strongroom.dev",
            "names": {"kind": "Widget", "plural": "widgets", "singular": "widget"},
            "scope": "Namespaced",
            "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                "type": "object",
                "properties": {"spec": {"type": "object", "properties": {"size": {"type": "integer"}}}},
            }}}],
        },
    }
    apply(clients["admin"], [crd])
    extensions = client.ApiextensionsV1Api(clients["admin"])

    def established() -> bool:
        conditions = extensions.read_custom_resource_definition(crd["metadata"]["name"]).status.conditions or []
        return any(c.type == "Established" and c.status == "True" for c in conditions)

    eventually(established, what="Established")
    custom = client.CustomObjectsApi(clients["admin"])
    eventually(lambda: custom.create_namespaced_custom_object(
        "harness.strongroom.dev", "v1", namespace, "widgets",
        {"apiVersion": "harness.strongroom.dev/v1", "kind": "Widget", "metadata": {"name": "w"},
         "spec": {"size": 3}}), what="served")
    widget = custom.get_namespaced_custom_object("harness.strongroom.dev", "v1", namespace, "widgets", "w")
    assert widget["spec"] == {"size": 3}


def test_a_local_https_admission_webhook_is_called_and_can_deny_a_create(
    clients: dict[str, client.ApiClient], core: Callable[[str], client.CoreV1Api], namespace: str
) -> None:
    def deny(request: dict) -> str | None:
        labels = request["object"]["metadata"].get("labels") or {}
        return f"{request['userInfo']['username']} may not create this" if labels.get("deny") else None

    admission = client.AdmissionregistrationV1Api(clients["admin"])
    with serve_admission(deny) as (url, ca_pem, seen):
        name = f"harness-deny-{namespace}"
        admission.create_validating_webhook_configuration(client.V1ValidatingWebhookConfiguration(
            metadata=client.V1ObjectMeta(name=name),
            webhooks=[client.V1ValidatingWebhook(
                name="deny.harness.strongroom.dev",
                client_config=client.AdmissionregistrationV1WebhookClientConfig(
                    url=url, ca_bundle=base64.b64encode(ca_pem).decode()),
                rules=[client.V1RuleWithOperations(
                    api_groups=[""], api_versions=["v1"], operations=["CREATE"], resources=["configmaps"])],
                namespace_selector=client.V1LabelSelector(
                    match_labels={"kubernetes.io/metadata.name": namespace}),
                side_effects="None", admission_review_versions=["v1"], failure_policy="Fail",
                timeout_seconds=5,
            )],
        ))
        try:
            def refused_for_admin() -> str:
                try:
                    core("admin").create_namespaced_config_map(namespace, client.V1ConfigMap(
                        metadata=client.V1ObjectMeta(generate_name="denied-", labels={"deny": "yes"})))
                except ApiException as exc:
                    return exc.body if exc.status == 403 else ""
                return ""

            assert "admin may not create this" in eventually(refused_for_admin, what="denied")
            core("admin").create_namespaced_config_map(
                namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="allowed")))
            assert any(r["userInfo"]["username"] == "admin" for r in seen)
        finally:
            admission.delete_validating_webhook_configuration(name)


def test_deleting_an_owner_deletes_its_dependents(core: Callable[[str], client.CoreV1Api], namespace: str) -> None:
    admin = core("admin")
    owner = admin.create_namespaced_config_map(
        namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="owner"))
    )
    admin.create_namespaced_secret(namespace, client.V1Secret(metadata=client.V1ObjectMeta(
        name="dependent",
        owner_references=[client.V1OwnerReference(
            api_version="v1", kind="ConfigMap", name="owner", uid=owner.metadata.uid)],
    )))
    admin.delete_namespaced_config_map("owner", namespace)

    def dependent_gone() -> bool:
        try:
            admin.read_namespaced_secret("dependent", namespace)
        except ApiException as exc:
            return exc.status == 404
        return False

    eventually(dependent_gone, timeout=30, what="collected by the garbage collector")


def test_a_namespace_deletion_completes(core: Callable[[str], client.CoreV1Api]) -> None:
    admin = core("admin")
    admin.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="harness-doomed")))
    admin.create_namespaced_config_map("harness-doomed", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="c")))
    admin.delete_namespace("harness-doomed")

    def gone() -> bool:
        try:
            admin.read_namespace("harness-doomed")
        except ApiException as exc:
            return exc.status == 404
        return False

    eventually(gone, timeout=60, what="deleted")


def test_token_request_returns_a_token_that_authenticates_as_its_service_account(
    cluster, core: Callable[[str], client.CoreV1Api], namespace: str
) -> None:
    admin = core("admin")
    admin.create_namespaced_service_account(
        namespace, client.V1ServiceAccount(metadata=client.V1ObjectMeta(name="robot"))
    )
    token = admin.create_namespaced_service_account_token(
        "robot", namespace, client.AuthenticationV1TokenRequest(
            spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=600))
    ).status.token
    config = client.Configuration()
    config.host = cluster.server
    config.ssl_ca_cert = str(cluster.local.pki_dir / "ca.crt")
    config.api_key = {"authorization": f"Bearer {token}"}
    with client.ApiClient(config) as robot:
        review = client.AuthenticationV1Api(robot).create_self_subject_review(
            client.V1SelfSubjectReview(metadata=client.V1ObjectMeta()))
    assert review.status.user_info.username == f"system:serviceaccount:{namespace}:robot"
