"""The chart on the real API server: its manifests are accepted, and once installed with two replicas
(the Deployment's Pods, run here as a kubelet would with their own ServiceAccount tokens) the operator
does a whole request-approve-expire lifecycle while its identity can touch nothing it does not need."""

from __future__ import annotations

import base64
import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from strongroom.devcluster import install
from strongroom.devcluster.controlplane import die_with_parent, free_port, write_kubeconfig
from strongroom.devcluster.operator_process import Replica, host_address, wait_ready
from strongroom.devcluster.users import OPERATOR_NAMESPACE
from strongroom.webhook.configurations import MUTATING_CONFIGURATION, remove_configuration
from tests.chart.helm import CHART, Tools
from tests.chart.test_chart import MODES
from tests.conftest import Cluster
from tests.controllers.helpers import reaches, secret
from tests.waiting import eventually
from tests.world import World

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("mode", MODES)
def test_the_rendered_manifests_are_accepted_by_the_api_server(
    tools: Tools, cluster: Cluster, namespace: str, mode: str
) -> None:
    docs = tools.template({**MODES[mode], "vaultNamespaces": [namespace]}, namespace, namespace, "--include-crds")
    # cert-manager's and the Prometheus operator's kinds need their CRDs, which the local control plane lacks.
    accepted = [doc for doc in docs if not doc["apiVersion"].startswith(("cert-manager.io/", "monitoring.coreos"))]
    result = tools.run("kubectl", "--kubeconfig", str(cluster.kubeconfig("admin")), "apply", "--server-side",
                       "--force-conflicts", "--field-manager=chart-test", "--dry-run=server", "-f", "-",
                       stdin=yaml.safe_dump_all(accepted))
    assert result.stdout.count("(server dry run)") == len(accepted), result.stdout


def may(admin: client.ApiClient, user: str, groups: list[str], verb: str, resource: str, *,
        namespace: str | None = None, group: str = "") -> bool:
    review = client.V1SubjectAccessReview(spec=client.V1SubjectAccessReviewSpec(
        user=user, groups=groups,
        resource_attributes=client.V1ResourceAttributes(verb=verb, resource=resource, group=group,
                                                        namespace=namespace)))
    return client.AuthorizationV1Api(admin).create_subject_access_review(review).status.allowed


def assert_least_privilege(admin: client.ApiClient, namespace: str, service_account: str, world: World) -> None:
    """Secrets readable in the vault and its own namespace only, and no way to grant itself more."""
    user = f"system:serviceaccount:{namespace}:{service_account}"
    groups = ["system:serviceaccounts", f"system:serviceaccounts:{namespace}", "system:authenticated"]
    assert may(admin, user, groups, "get", "secrets", namespace=world.vault)
    assert may(admin, user, groups, "get", "secrets", namespace=namespace)
    for elsewhere in (world.team, "default", "kube-system", None):
        assert not may(admin, user, groups, "get", "secrets", namespace=elsewhere), elsewhere
        assert not may(admin, user, groups, "list", "secrets", namespace=elsewhere), elsewhere
    rbac_group = "rbac.authorization.k8s.io"
    for resource in ("clusterroles", "clusterrolebindings"):
        for verb in ("create", "update", "patch", "delete", "escalate", "bind"):
            assert not may(admin, user, groups, verb, resource, group=rbac_group), (verb, resource)
    for verb in ("update", "patch", "delete"):  # its per-grant Roles go with their Secret, never by its hand
        assert not may(admin, user, groups, verb, "roles", namespace=world.team, group=rbac_group), verb
        assert not may(admin, user, groups, verb, "rolebindings", namespace=world.team, group=rbac_group), verb
    admission = "admissionregistration.k8s.io"
    for resource in ("mutatingwebhookconfigurations", "validatingwebhookconfigurations",
                     "validatingadmissionpolicies", "validatingadmissionpolicybindings"):
        assert not may(admin, user, groups, "create", resource, group=admission), resource
    assert not may(admin, user, groups, "impersonate", "users")
    assert not may(admin, user, groups, "create", "serviceaccounts/token", namespace=namespace)


def fence_holder(admin: client.ApiClient, namespace: str) -> str:
    """Whom the chart's LeaderFence names (the replica the API server lets write)."""
    fence = client.CustomObjectsApi(admin).get_namespaced_custom_object(
        "strongroom.dev", "v1alpha1", namespace, "leaderfences", "strongroom-operator")
    return str((fence.get("spec") or {}).get("holder") or "")


@contextlib.contextmanager
def cluster_singletons_left_to_the_chart(admin: client.ApiClient) -> Iterator[None]:
    """The admission policies and the webhook configuration exist once per cluster: the chart installs
    its own, so the harness's are taken away meanwhile and put back afterwards."""
    remove_configuration(admin)
    api = client.AdmissionregistrationV1Api(admin)
    for doc in install.policies():
        delete = (api.delete_validating_admission_policy if doc["kind"] == "ValidatingAdmissionPolicy"
                  else api.delete_validating_admission_policy_binding)
        with contextlib.suppress(ApiException):
            delete(doc["metadata"]["name"])
    try:
        yield
    finally:
        install.install(admin, webhooks=False)


def run_pod(cluster: Cluster, admin: client.ApiClient, pod: client.V1Pod, *, args: list[str], service: str,
            tmp_path: Path) -> tuple[subprocess.Popen[bytes], Replica, Path]:
    """What the kubelet does for one of the Deployment's Pods: a token bound to it, the container's
    command (its listen addresses moved to this host), and its address behind the Service."""
    namespace, name = pod.metadata.namespace, pod.metadata.name
    token = client.CoreV1Api(admin).create_namespaced_service_account_token(
        pod.spec.service_account_name, namespace, {"spec": {"audiences": [], "expirationSeconds": 3600,
                                                            "boundObjectRef": {"apiVersion": "v1", "kind": "Pod",
                                                                               "name": name,
                                                                               "uid": pod.metadata.uid}}}).status.token
    kubeconfig = write_kubeconfig(tmp_path / f"{name}.kubeconfig", cluster.server,
                                  (cluster.local.pki_dir / "ca.crt").read_bytes(), name, token)
    replica = Replica(name, admin, kubeconfig, host_address(), free_port(), free_port())
    local = [a for a in args if not a.startswith(("--health-listen=", "--webhook-listen=", "--webhook-client-ca="))]
    local += [f"--kubeconfig={kubeconfig}", f"--health-listen=127.0.0.1:{replica.health_port}",
              f"--webhook-listen={replica.address}:{replica.webhook_port}", f"--webhook-host={replica.address}",
              f"--webhook-client-ca={cluster.local.webhook_client_ca}"]
    log = tmp_path / f"{name}.log"
    env = {**os.environ, "POD_NAME": name, "POD_NAMESPACE": namespace}
    with log.open("ab") as out:
        process = subprocess.Popen([sys.executable, "-m", "strongroom", *local], stdout=out, stderr=subprocess.STDOUT,
                                   env=env, preexec_fn=die_with_parent)  # noqa: PLW1509
    wait_ready(replica, lambda: process.poll() is None, 60, log)
    client.DiscoveryV1Api(admin).create_namespaced_endpoint_slice(namespace, {
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": name, "labels": {"kubernetes.io/service-name": service}},
        "addressType": "IPv4",
        "endpoints": [{"addresses": [replica.address], "conditions": {"ready": True},
                       "targetRef": {"kind": "Pod", "name": name, "namespace": namespace}}],
        "ports": [{"name": "webhook", "port": replica.webhook_port, "protocol": "TCP"}],
    })
    return process, replica, log


def test_the_chart_installs_two_replicas_that_run_a_lifecycle_with_no_more_rights_than_they_need(  # noqa: PLR0917
    tools: Tools, cluster: Cluster, clients: dict[str, client.ApiClient], make_world, namespace: str,
    tmp_path: Path,
) -> None:
    admin = clients["admin"]
    world: World = make_world()  # one approval needed; bob approves
    release, kubeconfig = namespace, str(cluster.kubeconfig("admin"))
    ca = cluster.local.webhook_client_ca.read_text()
    client.CoreV1Api(admin).create_namespaced_config_map(namespace, {
        "metadata": {"name": "apiserver-webhook-client"}, "data": {"ca.crt": ca}})
    values = {"vaultNamespaces": [world.vault], "webhook": {"clientCA": {"configMapName": "apiserver-webhook-client"}}}
    running: list[tuple[subprocess.Popen[bytes], Replica, Path]] = []
    with cluster_singletons_left_to_the_chart(admin):
        installed = tools.run("helm", "install", release, str(CHART), "--namespace", namespace, "--kubeconfig",
                              kubeconfig, "-f", tools.values_file(values))
        try:
            assert "strongroom operator status" in installed.stdout  # NOTES: how to see who leads
            apps, policy = client.AppsV1Api(admin), client.PolicyV1Api(admin)
            deployment = apps.read_namespaced_deployment(f"{release}-strongroom-operator", namespace)
            assert deployment.spec.replicas == 2 and deployment.spec.strategy.type == "RollingUpdate"
            assert policy.list_namespaced_pod_disruption_budget(namespace).items
            assert not fence_holder(admin, namespace), "nobody leads before a replica runs"
            def two_pods() -> list[client.V1Pod] | None:
                found = client.CoreV1Api(admin).list_namespaced_pod(namespace).items
                return found if len(found) == 2 else None

            pods = eventually(two_pods, what="the Deployment's two Pods")
            (container,) = deployment.spec.template.spec.containers
            service = next(s.metadata.name for s in client.CoreV1Api(admin).list_namespaced_service(namespace).items
                           if any(p.name == "webhook" for p in s.spec.ports))
            running = [run_pod(cluster, admin, pod, args=container.args, service=service, tmp_path=tmp_path)
                       for pod in pods]

            name = world.request("alice", duration="5s")["metadata"]["name"]
            world.review("bob", name)
            secret_name = reaches(world, name, "Active")["secretName"]
            delivered = eventually(lambda: secret(world, secret_name), what="the Secret alice reads")
            assert base64.b64decode(delivered.data["password"]).decode() == world.password
            eventually(lambda: secret(world, secret_name, user="admin") is None, timeout=20,
                       what="Secret deleted at expiry")
            reaches(world, name, "Expired")
            service_account = pods[0].spec.service_account_name
            for _, _, log in running:
                assert world.password not in log.read_text()
            leader = client.CoordinationV1Api(admin).read_namespaced_lease("strongroom-operator", namespace)
            assert leader.spec.holder_identity in {pod.metadata.name for pod in pods}
            assert fence_holder(admin, namespace) == leader.spec.holder_identity
            mutating = client.AdmissionregistrationV1Api(admin).read_mutating_webhook_configuration(
                MUTATING_CONFIGURATION)
            assert mutating.metadata.labels["app.kubernetes.io/managed-by"] == "Helm"
            assert all(w.client_config.service and w.client_config.ca_bundle for w in mutating.webhooks)
            assert_least_privilege(admin, namespace, service_account, world)
        finally:
            for process, replica, _ in running:
                replica.unpublish()
                process.terminate()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=15)
            tools.run("helm", "uninstall", release, "--namespace", namespace, "--kubeconfig", kubeconfig,
                      check=False)
        with pytest.raises(ApiException) as gone:
            client.AdmissionregistrationV1Api(admin).read_mutating_webhook_configuration(MUTATING_CONFIGURATION)
        assert gone.value.status == 404
    assert namespace != OPERATOR_NAMESPACE
