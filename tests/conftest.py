"""The test harness: one real control plane per run, a client per user, a namespace per test,
and the operator as a subprocess under its own identity."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from kubernetes import client

from strongroom.devcluster.controlplane import LocalCluster
from strongroom.devcluster.operator_process import LocalOperator
from strongroom.devcluster.operator_process import start as start_local_operator
from strongroom.devcluster.users import OPERATOR_USER, USER_NAMES
from strongroom.kube.client import api_client, apply
from strongroom.webhook.configurations import remove_configurations
from tests.postgres import PostgresServer, start_server
from tests.waiting import eventually
from tests.world import World, build_world


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
    """An API client per user: admin, alice, erin, bob, carol, dave, audrey, strongroom-operator."""
    made = {user: api_client(cluster.kubeconfig(user)) for user in USER_NAMES}
    yield made
    for api in made.values():
        api.close()


CRDS_DIR = Path(__file__).resolve().parents[1] / "crds"


@pytest.fixture(scope="session")
def crds(cluster: Cluster, clients: dict[str, client.ApiClient]) -> list[dict]:
    """The generated CRDs from crds/, applied by admin and Established."""
    manifests = [yaml.safe_load(path.read_text()) for path in sorted(CRDS_DIR.glob("*.yaml"))]
    apply(clients["admin"], manifests)
    extensions = client.ApiextensionsV1Api(clients["admin"])

    def established(name: str) -> bool:
        conditions = extensions.read_custom_resource_definition(name).status.conditions or []
        return any(c.type == "Established" and c.status == "True" for c in conditions)

    for manifest in manifests:
        eventually(lambda name=manifest["metadata"]["name"]: established(name), what="Established")
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


OperatorProcess = LocalOperator


def start_operator(cluster: Cluster, log: Path, kubeconfig: Path | None = None, *extra: str) -> OperatorProcess:
    """`strongroom operator` as a subprocess under its own identity (or `kubeconfig`'s), ready to serve."""
    return start_local_operator(kubeconfig or cluster.kubeconfig(OPERATOR_USER), log, *extra, tied=True)


@pytest.fixture
def operator(cluster: Cluster, crds: list[dict], clients: dict[str, client.ApiClient], tmp_path: Path
             ) -> Iterator[OperatorProcess]:
    """The operator running for one test; its output is kept in a file for inspection."""
    running = start_operator(cluster, tmp_path / "operator.log")
    yield running
    running.stop()
    remove_configurations(clients["admin"])


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
