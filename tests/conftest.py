"""The test harness: one real control plane per run, a client per user, a namespace per test,
and the operator as a subprocess under its own identity."""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from strongroom.kube import api_client, apply
from strongroom.localcluster.controlplane import LocalCluster, die_with_parent, free_port
from strongroom.localcluster.users import OPERATOR_NAMESPACE, OPERATOR_USER, USER_NAMES
from strongroom.webhooks import MUTATING_CONFIGURATION, VALIDATING_CONFIGURATION
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


@dataclass
class OperatorProcess:
    process: subprocess.Popen[bytes]
    log: Path
    health: str

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def start_operator(cluster: Cluster, log: Path, kubeconfig: Path | None = None, *extra: str) -> OperatorProcess:
    """`strongroom operator` as a subprocess, as the operator's own identity, serving its webhooks on a
    fresh local port; waits until it is alive."""
    health = f"http://127.0.0.1:{free_port()}/healthz"
    webhook_port = free_port()
    command = [
        sys.executable, "-m", "strongroom", "operator",
        "--kubeconfig", str(kubeconfig or cluster.kubeconfig(OPERATOR_USER)),
        "--operator-namespace", OPERATOR_NAMESPACE,
        "--liveness", health,
        "--webhook-listen", f"127.0.0.1:{webhook_port}",
        "--webhook-url", f"https://127.0.0.1:{webhook_port}",
        *extra,
    ]
    with log.open("ab") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=os.environ.copy(),
            preexec_fn=die_with_parent,  # noqa: PLW1509  (a killed test run leaves no operator behind)
        )
    started = OperatorProcess(process, log, health)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the operator exited with {process.returncode}:\n{started.output()[-3000:]}")
        try:
            with urllib.request.urlopen(health, timeout=1) as response:
                if response.status == 200:
                    return started
        except OSError:
            time.sleep(0.2)
    started.stop()
    raise RuntimeError(f"the operator did not become healthy:\n{started.output()[-3000:]}")


def remove_webhook_configurations(admin: client.ApiClient) -> None:
    """What an admin uninstalling Strongroom does; the configurations outlive the operator by design."""
    admission = client.AdmissionregistrationV1Api(admin)
    for delete, name in (
        (admission.delete_mutating_webhook_configuration, MUTATING_CONFIGURATION),
        (admission.delete_validating_webhook_configuration, VALIDATING_CONFIGURATION),
    ):
        with contextlib.suppress(ApiException):
            delete(name)


@pytest.fixture
def operator(cluster: Cluster, crds: list[dict], clients: dict[str, client.ApiClient], tmp_path: Path
             ) -> Iterator[OperatorProcess]:
    """The operator running for one test; its output is kept in a file for inspection."""
    running = start_operator(cluster, tmp_path / "operator.log")
    yield running
    running.stop()
    remove_webhook_configurations(clients["admin"])


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
