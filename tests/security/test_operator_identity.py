"""What the operator's own identity can do with a stolen token: only what Strongroom needs, enforced by
the API server (RBAC and the admission policies), and nothing at all from a replica that does not lead."""

from __future__ import annotations

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from strongroom.api.group import API_VERSION
from strongroom.devcluster.operator_process import Replica
from strongroom.kube.client import api_client
from tests.controllers.helpers import active, status
from tests.operators import InProcessOperator
from tests.world import World


def refused(call) -> int:
    with pytest.raises(ApiException) as denied:
        call()
    assert denied.value.status in (403, 422), denied.value.body
    return int(denied.value.status)


@pytest.fixture
def stolen(operator: InProcessOperator) -> client.ApiClient:
    """The leading replica's own token."""
    return api_client(operator.replica.kubeconfig)


def test_the_operator_identity_cannot_create_an_unlabelled_secret_elsewhere(stolen, namespace: str) -> None:
    core = client.CoreV1Api(stolen)
    refused(lambda: core.create_namespaced_secret(namespace, {"metadata": {"name": "planted"},
                                                              "stringData": {"k": "v"}}))
    refused(lambda: core.create_namespaced_secret("kube-system", {
        "metadata": {"name": "bootstrap-token-abcdef"}, "type": "bootstrap.kubernetes.io/token",
        "stringData": {"token-id": "abcdef", "token-secret": "0123456789abcdef"}}))


def test_labels_do_not_let_it_plant_a_token_secret(stolen, namespace: str) -> None:
    labels = {"app.kubernetes.io/managed-by": "strongroom", "strongroom.dev/grant-uid": "x"}
    owner = [{"apiVersion": API_VERSION, "kind": "Grant", "name": "g", "uid": "x"}]
    refused(lambda: client.CoreV1Api(stolen).create_namespaced_secret(namespace, {
        "metadata": {"name": "sa-token", "labels": labels, "ownerReferences": owner,
                     "annotations": {"kubernetes.io/service-account.name": "default"}},
        "type": "kubernetes.io/service-account-token"}))


def test_the_operator_identity_cannot_delete_a_secret_it_did_not_deliver(
    stolen, operator: InProcessOperator, make_world
) -> None:
    world: World = make_world(policy={"requiredApprovals": 0})
    world.core("admin").create_namespaced_secret(world.team, {"metadata": {"name": "ci-token"},
                                                             "stringData": {"token": "t"}})
    refused(lambda: client.CoreV1Api(stolen).delete_namespaced_secret("ci-token", world.team))
    refused(lambda: client.CoreV1Api(stolen).delete_namespaced_secret("db-admin", world.vault))
    assert world.core("admin").read_namespaced_secret("ci-token", world.team)
    # ...and cannot read any Secret outside the vaults it is bound to.
    refused(lambda: client.CoreV1Api(stolen).read_namespaced_secret("ci-token", world.team))


def test_the_operator_identity_cannot_touch_a_foreign_webhook_configuration(stolen, clients) -> None:
    admission = client.AdmissionregistrationV1Api(clients["admin"])
    foreign = {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
               "metadata": {"name": "someone-elses"}, "webhooks": []}
    admission.create_mutating_webhook_configuration(foreign)
    try:
        theirs = client.AdmissionregistrationV1Api(stolen)
        relabel = {"metadata": {"labels": {"a": "b"}}}
        refused(lambda: theirs.patch_mutating_webhook_configuration("someone-elses", relabel))
        refused(lambda: theirs.create_mutating_webhook_configuration(
            {**foreign, "metadata": {"name": "a-webhook-on-pods"}}))
        refused(lambda: theirs.create_validating_webhook_configuration(
            {**foreign, "kind": "ValidatingWebhookConfiguration", "metadata": {"name": "another"}}))
        refused(lambda: theirs.delete_mutating_webhook_configuration("strongroom-mutating"))
    finally:
        admission.delete_mutating_webhook_configuration("someone-elses")


def test_the_operator_identity_cannot_grant_itself_or_anyone_rights(stolen, namespace: str) -> None:
    rbac = client.RbacAuthorizationV1Api(stolen)
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "everything"},
            "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]}
    refused(lambda: rbac.create_namespaced_role(namespace, role))
    refused(lambda: rbac.create_namespaced_role_binding(namespace, {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "admin"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "admin"},
        "subjects": [{"kind": "ServiceAccount", "name": "strongroom-operator", "namespace": "strongroom-system"}]}))
    refused(lambda: client.RbacAuthorizationV1Api(stolen).create_cluster_role_binding({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "x"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"kind": "User", "name": "dave"}]}))


def test_a_replica_that_does_not_lead_cannot_write(operator: InProcessOperator, cluster, make_world, tmp_path) -> None:
    world: World = make_world(policy={"requiredApprovals": 0})
    name, _ = active(world, "alice", "30m")
    standby = Replica.create(cluster.local, tmp_path)  # a pod of the operator, with its own token
    try:
        theirs = client.CustomObjectsApi(api_client(standby.kubeconfig))
        grant = status(world, name)["grant"]
        refused(lambda: theirs.patch_namespaced_custom_object_status(
            "strongroom.dev", "v1alpha1", world.team, "grants", grant, {"status": {"phase": "Revoked"}}))
        refused(lambda: client.CoreV1Api(api_client(standby.kubeconfig)).delete_namespaced_secret(
            status(world, name)["secretName"], world.team))
    finally:
        standby.remove()
