"""Operator replicas as child processes on the local control plane, each as it would run in a Pod.

There is no kubelet here, so this module does its part: it creates a Pod object for each replica
(never scheduled, never run), gives the process a ServiceAccount token bound to that Pod (so the API
server names the pod in every request, and the fence policy can tell replicas apart), and, once the
replica is ready, lists its webhook address in an EndpointSlice of the webhook Service, as the
EndpointSlice controller would. Stopping a replica takes its address out first, then the process,
then the Pod (which makes its token worthless).

The API server refuses loopback addresses in EndpointSlices, so replicas listen on a non-loopback
address of this machine.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from strongroom.devcluster.controlplane import ClusterError, LocalCluster, die_with_parent, free_port, write_kubeconfig
from strongroom.devcluster.install import WEBHOOK_PORT_NAME
from strongroom.devcluster.users import OPERATOR_NAMESPACE, OPERATOR_SERVICE_ACCOUNT, WEBHOOK_SERVICE
from strongroom.kube.client import api_client

TOKEN_SECONDS = 12 * 3600


def host_address() -> str:
    """A non-loopback IPv4 address of this machine (an EndpointSlice may not list 127.0.0.0/8)."""
    try:
        listed = subprocess.run(["ip", "-4", "-o", "addr", "show", "scope", "global"], capture_output=True,
                                text=True, check=False).stdout
    except OSError:
        listed = ""
    for line in listed.splitlines():
        fields = line.split()
        if "inet" in fields:
            return fields[fields.index("inet") + 1].split("/")[0]
    raise ClusterError("this machine has no non-loopback IPv4 address for the operator's webhook to listen on; "
                       "add one (e.g. `ip addr add 10.254.0.1/32 dev lo`)")


@dataclass
class Replica:
    """What the kubelet and the EndpointSlice controller do for one replica: its Pod, its pod-bound
    token (a kubeconfig), the address and ports it serves on, its entry behind the webhook Service."""

    name: str  # the Pod's name, the replica's identity
    admin: client.ApiClient
    kubeconfig: Path
    address: str
    webhook_port: int
    health_port: int

    @classmethod
    def create(cls, local: LocalCluster, directory: Path, name: str | None = None) -> Replica:
        name = name or f"strongroom-operator-{secrets.token_hex(3)}"
        admin = api_client(local.kubeconfig("admin"))
        token = _pod_and_token(client.CoreV1Api(admin), name)
        kubeconfig = write_kubeconfig(directory / f"{name}.kubeconfig", local.server(),
                                      (local.pki_dir / "ca.crt").read_bytes(), name, token)
        return cls(name, admin, kubeconfig, host_address(), free_port(), free_port())

    @property
    def health(self) -> str:
        return f"http://127.0.0.1:{self.health_port}"

    def args(self, local: LocalCluster) -> list[str]:
        """`strongroom operator` flags for this replica (as the chart's Deployment passes them)."""
        return [
            "--kubeconfig", str(self.kubeconfig), "--operator-namespace", OPERATOR_NAMESPACE, "--identity", self.name,
            "--health-listen", f"127.0.0.1:{self.health_port}",
            "--webhook-listen", f"{self.address}:{self.webhook_port}",
            "--webhook-service", f"{OPERATOR_NAMESPACE}/{WEBHOOK_SERVICE}", "--webhook-host", self.address,
            "--webhook-client-ca", str(local.webhook_client_ca),
        ]

    def http(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(self.health + path, timeout=2) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()
        except OSError as error:
            return 0, str(error)

    def ready(self) -> bool:
        return self.http("/readyz")[0] == 200

    def publish(self) -> None:
        """List this replica's webhook address behind the Service (what the EndpointSlice controller does
        for a ready Pod)."""
        client.DiscoveryV1Api(self.admin).create_namespaced_endpoint_slice(OPERATOR_NAMESPACE, {
            "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": self.name, "labels": {"kubernetes.io/service-name": WEBHOOK_SERVICE}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": [self.address], "conditions": {"ready": True},
                           "targetRef": {"kind": "Pod", "name": self.name, "namespace": OPERATOR_NAMESPACE}}],
            "ports": [{"name": WEBHOOK_PORT_NAME, "port": self.webhook_port, "protocol": "TCP"}],
        })

    def unpublish(self) -> None:
        with contextlib.suppress(ApiException):
            client.DiscoveryV1Api(self.admin).delete_namespaced_endpoint_slice(self.name, OPERATOR_NAMESPACE)

    def remove(self) -> None:
        """Delete the Pod: its token is worthless from then on."""
        with contextlib.suppress(ApiException):
            client.CoreV1Api(self.admin).delete_namespaced_pod(self.name, OPERATOR_NAMESPACE, grace_period_seconds=0)
        self.admin.close()


@dataclass
class LocalOperator:
    """One replica as a child process."""

    replica: Replica
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def name(self) -> str:
        return self.replica.name

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def ready(self) -> bool:
        return self.replica.ready()

    def kill(self) -> None:
        """SIGKILL: no cleanup of any kind (its address stays listed until `replica.unpublish`)."""
        self.process.kill()
        self.process.wait()

    def stop(self) -> int | None:
        """Take the address out, stop the process (SIGTERM, then SIGKILL), delete the Pod."""
        self.replica.unpublish()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.replica.remove()
        return self.process.returncode


def _pod_and_token(core: client.CoreV1Api, name: str) -> str:
    pod = core.create_namespaced_pod(OPERATOR_NAMESPACE, {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/name": "strongroom"}},
        "spec": {"serviceAccountName": OPERATOR_SERVICE_ACCOUNT, "automountServiceAccountToken": False,
                 "containers": [{"name": "operator", "image": "strongroom:local"}]},
    })
    answer = core.create_namespaced_service_account_token(OPERATOR_SERVICE_ACCOUNT, OPERATOR_NAMESPACE, {
        "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
        "spec": {"audiences": [], "expirationSeconds": TOKEN_SECONDS,
                 "boundObjectRef": {"apiVersion": "v1", "kind": "Pod", "name": name, "uid": pod.metadata.uid}},
    })
    return str(answer.status.token)


def wait_ready(replica: Replica, alive: Callable[[], bool], timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive():
            raise RuntimeError(f"the operator stopped while starting; see {log}")
        if replica.ready():
            return
        time.sleep(0.05)
    raise RuntimeError(f"the operator was not ready within {timeout:.0f}s; see {log}")


def start(local: LocalCluster, log: Path, *extra: str, tied: bool = False, timeout: float = 60,
          name: str | None = None, publish: bool = True) -> LocalOperator:
    """Start one replica (a Pod of its own, its token, its process) and wait until it is ready; with
    `publish`, then list its webhook address behind the Service."""
    replica = Replica.create(local, log.parent, name)
    command = [sys.executable, "-m", "strongroom", "operator", *replica.args(local), *extra]
    env = {**os.environ, "POD_NAME": replica.name, "POD_NAMESPACE": OPERATOR_NAMESPACE}
    with log.open("ab") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env,
                                   preexec_fn=die_with_parent if tied else None)  # noqa: PLW1509
    running = LocalOperator(replica, process, log)
    try:
        wait_ready(replica, lambda: process.poll() is None, timeout, log)
    except RuntimeError:
        running.stop()
        raise
    if publish:
        replica.publish()
    return running
