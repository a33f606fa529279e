"""The chart on the real API server: its manifests are accepted, and once installed, the operator
running with its ServiceAccount's token does a whole request-approve-expire lifecycle, while that
ServiceAccount can read no Secret outside the vault and write no RBAC."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from strongroom.devcluster.controlplane import free_port, write_kubeconfig
from strongroom.devcluster.operator_process import start as start_local_operator
from strongroom.webhook.configurations import MUTATING_CONFIGURATION, remove_configurations
from tests.chart.helm import CHART, Tools
from tests.chart.test_chart import MODES
from tests.conftest import Cluster
from tests.operator.test_lifecycle import phase, secret
from tests.waiting import eventually
from tests.world import World

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("mode", MODES)
def test_the_rendered_manifests_are_accepted_by_the_api_server(
    tools: Tools, cluster: Cluster, namespace: str, mode: str
) -> None:
    docs = tools.template({**MODES[mode], "vaultNamespaces": [namespace]}, namespace, namespace, "--include-crds")
    # cert-manager's own kinds need cert-manager's CRDs, which the local control plane does not have.
    accepted = [doc for doc in docs if not doc["apiVersion"].startswith("cert-manager.io/")]
    assert len(docs) - len(accepted) == (4 if mode == "cert-manager" else 0)
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
    """Secrets in the vault and its own namespace only, and no way to grant itself more."""
    user = f"system:serviceaccount:{namespace}:{service_account}"
    groups = ["system:serviceaccounts", f"system:serviceaccounts:{namespace}", "system:authenticated"]
    assert may(admin, user, groups, "get", "secrets", namespace=world.vault)  # the vault: yes
    assert may(admin, user, groups, "get", "secrets", namespace=namespace)  # its sealing key: yes
    for elsewhere in (world.team, "default", "kube-system", None):
        assert not may(admin, user, groups, "get", "secrets", namespace=elsewhere), elsewhere
        assert not may(admin, user, groups, "list", "secrets", namespace=elsewhere), elsewhere
    rbac_group = "rbac.authorization.k8s.io"
    for resource in ("roles", "rolebindings", "clusterroles", "clusterrolebindings"):
        for verb in ("create", "update", "patch", "delete", "escalate", "bind"):
            allowed = may(admin, user, groups, verb, resource, namespace=world.team, group=rbac_group)
            assert not allowed, (verb, resource)
    assert not may(admin, user, groups, "impersonate", "users")
    assert not may(admin, user, groups, "create", "serviceaccounts/token", namespace=namespace)


def test_the_installed_chart_runs_a_lifecycle_with_no_more_rights_than_it_needs(  # noqa: PLR0917
    tools: Tools, cluster: Cluster, clients: dict[str, client.ApiClient], make_world: Callable[..., World],
    namespace: str, tmp_path: Path,
) -> None:
    admin = clients["admin"]
    world = make_world()  # one approval needed; bob approves
    port = free_port()
    url = f"https://127.0.0.1:{port}"
    release, kubeconfig = namespace, str(cluster.kubeconfig("admin"))
    remove_configurations(admin)  # left by an earlier test's operator, they would block the install
    installed = tools.run("helm", "install", release, str(CHART), "--namespace", namespace, "--kubeconfig", kubeconfig,
                          "-f", tools.values_file({"vaultNamespaces": [world.vault], "webhook": {"url": url}}))
    # NOTES.txt tells what to do next, with this release's names.
    assert f"--clusterrole={release}-strongroom-requester" in installed.stdout
    assert f"--webhook-url {url}" in installed.stdout
    try:
        service_account = f"{release}-strongroom"
        token = client.CoreV1Api(admin).create_namespaced_service_account_token(
            service_account, namespace, client.AuthenticationV1TokenRequest(
                spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=3600))).status.token
        own = write_kubeconfig(tmp_path / "operator.kubeconfig", cluster.server,
                               (cluster.local.pki_dir / "ca.crt").read_bytes(), "strongroom", token)
        # The Deployment's own command line, but for where it listens (a Pod's network, not this host's).
        (container,) = client.AppsV1Api(admin).read_namespaced_deployment(
            f"{release}-strongroom-operator", namespace).spec.template.spec.containers
        assert container.args[0] == "operator"
        args = [a for a in container.args[1:] if not a.startswith(("--liveness=", "--webhook-listen="))]
        assert f"--webhook-url={url}" in args
        running = start_local_operator(own, tmp_path / "operator.log", *args, tied=True, webhook_port=port)
        try:
            name = world.request("alice", duration="5s")["metadata"]["name"]
            world.review("bob", name)
            eventually(lambda: phase(world, name) == "Active", timeout=20, what="Active")
            secret_name = world.get("AccessRequest", name)["status"]["secretName"]
            delivered = eventually(lambda: secret(world, secret_name), what="Secret delivered")
            assert base64.b64decode(delivered.data["password"]).decode() == world.password
            eventually(lambda: secret(world, secret_name) is None, timeout=15, what="Secret deleted at expiry")
            eventually(lambda: phase(world, name) == "Expired", timeout=10, what="Expired")
            assert world.password not in running.output()
            assert f"running as system:serviceaccount:{namespace}:{service_account}" in running.output()
        finally:
            running.stop()
        # The operator only added its CA to the chart's configuration.
        mutating = client.AdmissionregistrationV1Api(admin).read_mutating_webhook_configuration(
            MUTATING_CONFIGURATION)
        assert mutating.metadata.labels["app.kubernetes.io/managed-by"] == "Helm"
        assert all(w.client_config.url.startswith(url) and w.client_config.ca_bundle for w in mutating.webhooks)

        assert_least_privilege(admin, namespace, service_account, world)

        tools.run("helm", "uninstall", release, "--namespace", namespace, "--kubeconfig", kubeconfig)
        with pytest.raises(ApiException) as gone:
            client.AdmissionregistrationV1Api(admin).read_mutating_webhook_configuration(MUTATING_CONFIGURATION)
        assert gone.value.status == 404
    finally:
        tools.run("helm", "uninstall", release, "--namespace", namespace, "--kubeconfig", kubeconfig,
                  "--ignore-not-found", check=False)
        remove_configurations(admin)
