"""The test harness: one real control plane per run, a client per user, a namespace per test, and the
operator in this process (on a clock the test moves) or as child processes (what must survive a kill)."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from strongroom.devcluster import install
from strongroom.devcluster.controlplane import LocalCluster
from strongroom.devcluster.operator_process import LocalOperator
from strongroom.devcluster.operator_process import start as start_local_operator
from strongroom.devcluster.users import LEASE_NAME, OPERATOR_NAMESPACE, USER_NAMES
from strongroom.kube.client import api_client, apply
from strongroom.runtime.leader import leader_fence
from strongroom.webhook.configurations import remove_configuration
from tests.operators import InProcessOperator
from tests.postgres import PostgresServer, start_server
from tests.waiting import eventually
from tests.world import World, build_world, policies_enforced, webhooks_in_effect


@dataclass
class Cluster:
    """The running local control plane, as the tests see it."""

    local: LocalCluster
    server: str

    def kubeconfig(self, user: str) -> Path:
        return self.local.kubeconfig(user)


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    # Every process dies with this one (prctl), so a crashed or killed run leaves nothing behind.
    local = LocalCluster(tmp_path_factory.mktemp("controlplane"))
    state, _ = local.up(tie_to_parent=True)
    try:
        yield Cluster(local, state.server)
    finally:
        local.down()


@pytest.fixture(scope="session")
def clients(cluster: Cluster) -> Iterator[dict[str, client.ApiClient]]:
    """An API client per user: admin, alice, erin, bob, carol, dave, audrey."""
    made = {user: api_client(cluster.kubeconfig(user)) for user in USER_NAMES}
    yield made
    for api in made.values():
        api.close()


@pytest.fixture(scope="session")
def crds(cluster: Cluster, clients: dict[str, client.ApiClient]) -> list[dict]:
    """Strongroom's API installed by admin: the generated CRDs (Established) and the admission policies."""
    install.install(clients["admin"], webhooks=False)
    extensions = client.ApiextensionsV1Api(clients["admin"])

    def established(name: str) -> bool:
        conditions = extensions.read_custom_resource_definition(name).status.conditions or []
        return any(c.type == "Established" and c.status == "True" for c in conditions)

    manifests = install.crds()
    for manifest in manifests:
        eventually(lambda name=manifest["metadata"]["name"]: established(name), what="Established")
    eventually(lambda: policies_enforced(clients["admin"]), what="the admission policies enforced")
    return manifests


@pytest.fixture
def core(clients: dict[str, client.ApiClient]) -> Callable[[str], client.CoreV1Api]:
    """core("alice") is the CoreV1Api acting as alice."""
    return lambda user: client.CoreV1Api(clients[user])


@pytest.fixture
def namespace(clients: dict[str, client.ApiClient]) -> Iterator[str]:
    """A fresh namespace for one test, deleted (without waiting) afterwards."""
    name = f"t-{secrets.token_hex(4)}"
    api = client.CoreV1Api(clients["admin"])
    api.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    yield name
    api.delete_namespace(name, propagation_policy="Background")


def reset_lease(admin: client.ApiClient) -> None:
    """Hand the leader Lease and the fence back to nobody (a killed replica would otherwise hold them
    until its lease expires)."""
    with contextlib.suppress(ApiException):
        client.CoordinationV1Api(admin).delete_namespaced_lease(LEASE_NAME, OPERATOR_NAMESPACE)
    apply(admin, [leader_fence(LEASE_NAME, OPERATOR_NAMESPACE)])


@contextlib.contextmanager
def webhooks_installed(admin: client.ApiClient) -> Iterator[None]:
    """The webhook configuration, for as long as operators run (without one answering, it refuses)."""
    apply(admin, [install.webhook_configuration()])
    # The API server takes a moment to call, or to stop calling, webhooks after their configuration changes.
    eventually(lambda: webhooks_in_effect(admin), what="the webhooks called")
    try:
        yield
    finally:
        remove_configuration(admin)
        eventually(lambda: not webhooks_in_effect(admin), what="the webhooks no longer called")
        reset_lease(admin)


@pytest.fixture
def in_process(cluster: Cluster, crds: list[dict], clients: dict[str, client.ApiClient], tmp_path: Path
               ) -> Iterator[Callable[..., InProcessOperator]]:
    """in_process(**options) starts an operator in this process, on a clock the test moves; all are
    stopped at the end of the test."""
    started: list[InProcessOperator] = []
    with webhooks_installed(clients["admin"]):
        def start(**options: object) -> InProcessOperator:
            running = InProcessOperator(cluster.local, tmp_path, **options)  # type: ignore[arg-type]
            started.append(running)
            return running

        try:
            yield start
        finally:
            for running in started:
                running.stop()


@pytest.fixture
def operator(in_process: Callable[..., InProcessOperator]) -> InProcessOperator:
    """The operator for one test (`operator.advance` moves its clock, `operator.settle` waits for quiet)."""
    return in_process()


def start_operator(cluster: Cluster, log: Path, *extra: str, name: str | None = None) -> LocalOperator:
    """`strongroom operator` as a child process with a Pod of its own, ready and behind the Service."""
    return start_local_operator(cluster.local, log, *extra, tied=True, name=name)


@pytest.fixture
def operator_process(cluster: Cluster, crds: list[dict], clients: dict[str, client.ApiClient], tmp_path: Path
                     ) -> Iterator[LocalOperator]:
    """The operator as a child process, for what must survive a kill or show in its log."""
    with webhooks_installed(clients["admin"]):
        running = start_operator(cluster, tmp_path / "operator.log")
        try:
            yield running
        finally:
            running.stop()


@pytest.fixture
def make_world(clients: dict[str, client.ApiClient], crds: list[dict]) -> Iterator[Callable[..., World]]:
    """make_world(**safe_spec) builds a vault and a team namespace with a Safe, an Account and its Secret."""
    built: list[Iterator[World]] = []

    def make(**safe_spec: object) -> World:
        worlds = build_world(clients, dict(safe_spec))
        built.append(worlds)
        return next(worlds)

    yield make
    for worlds in built:
        next(worlds, None)


@pytest.fixture
def world(make_world: Callable[..., World]) -> World:
    return make_world()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A real PostgreSQL server on a free local port for the whole run; the superuser is `postgres`."""
    server = start_server()
    try:
        yield server
    finally:
        server.cleanup()
