"""Start and stop a real local control plane: etcd, kube-apiserver and kube-controller-manager.

Everything lives under one state directory; `state.json` there names the processes and ports, so
`down` (from any process) stops exactly what `up` started. A failed `up` stops whatever it started.
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import fcntl
import json
import os
import secrets
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml
from kubernetes import client

from strongroom.codegen import rbac
from strongroom.devcluster.binaries import bin_dir as find_bin_dir
from strongroom.devcluster.binaries import missing_in
from strongroom.devcluster.install import operator_identity
from strongroom.devcluster.users import CONTROLLER_MANAGER, USER_NAMES, USERS
from strongroom.kube.client import api_client, apply
from strongroom.webhook import certificates as pki

DEFAULT_DIR = Path(".strongroom")
SERVICE_CIDR = "10.0.0.0/24"
_PR_SET_PDEATHSIG = 1


class ClusterError(RuntimeError):
    """A one-line, actionable reason why the local control plane cannot start or be found."""


@dataclass
class ClusterState:
    """What `up` started; persisted as state.json."""

    bin_dir: str
    etcd_port: int
    etcd_peer_port: int
    apiserver_port: int
    pids: dict[str, int] = field(default_factory=dict)

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.apiserver_port}"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def write_kubeconfig(path: Path, server: str, ca_pem: bytes, name: str, token: str) -> Path:
    """A kubeconfig (mode 0600) for one identity that authenticates with a bearer token."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "strongroom-local", "cluster": {
            "server": server, "certificate-authority-data": base64.b64encode(ca_pem).decode()}}],
        "users": [{"name": name, "user": {"token": token}}],
        "contexts": [{"name": name, "context": {"cluster": "strongroom-local", "user": name, "namespace": "default"}}],
        "current-context": name,
    }
    path.touch(mode=0o600)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def die_with_parent() -> None:
    """Runs in the child before exec: the kernel kills it when the starting thread exits. SIGKILL,
    because kube-apiserver's graceful shutdown can outlast a test run's patience."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _alive(pid: int, binary: str) -> bool:
    """True when `pid` runs and is still the binary we started (not a recycled pid)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return cmdline.split(b"\0", 1)[0].decode(errors="replace").endswith(binary)


def _progress(message: str) -> None:
    print(f"[cluster] {message}", file=sys.stderr, flush=True)


class LocalCluster:
    """A control plane rooted at `directory`."""

    def __init__(self, directory: Path = DEFAULT_DIR) -> None:
        self.dir = directory.resolve()
        self.pki_dir = self.dir / "pki"
        self.logs_dir = self.dir / "logs"
        self.kubeconfig_dir = self.dir / "kubeconfigs"
        self.state_file = self.dir / "state.json"
        self._started: dict[str, subprocess.Popen[bytes]] = {}

    # -- queries ---------------------------------------------------------------------------------

    def state(self) -> ClusterState | None:
        try:
            return ClusterState(**json.loads(self.state_file.read_text()))
        except (OSError, ValueError, TypeError):
            return None

    def running(self) -> ClusterState | None:
        """The state of a cluster whose every process runs and whose API server is ready, else None."""
        state = self.state()
        if state is None or not state.pids:
            return None
        if not all(_alive(pid, name) for name, pid in state.pids.items()):
            return None
        return state if self._ready(state) else None

    def server(self) -> str:
        """The API server's URL of the cluster running here."""
        state = self.state()
        if state is None:
            raise ClusterError(f"no cluster in {self.dir}; start one with: strongroom cluster up")
        return state.server

    def kubeconfig(self, user: str) -> Path:
        if user not in USER_NAMES:
            raise ClusterError(f"unknown user {user!r}; the users are {', '.join(USER_NAMES)}")
        path = self.kubeconfig_dir / f"{user}.kubeconfig"
        if not path.exists():
            raise ClusterError(f"no cluster in {self.dir}; start one with: strongroom cluster up")
        return path

    # -- up --------------------------------------------------------------------------------------

    def up(self, apiserver_port: int | None = None, tie_to_parent: bool = False) -> tuple[ClusterState, bool]:
        """Start the control plane, or reuse the one already running here. Returns (state, reused).

        `tie_to_parent` makes every process die with the calling thread (test runs), so a crashed or
        killed test run leaves nothing behind."""
        self.dir.mkdir(parents=True, exist_ok=True)
        with self._lock():
            state = self.running()
            if state is not None:
                if apiserver_port not in (None, state.apiserver_port):
                    raise ClusterError(
                        f"a cluster already runs in {self.dir} on port {state.apiserver_port}; "
                        "stop it first with: strongroom cluster down"
                    )
                return state, True
            if self.state() is not None:
                _progress(f"removing stale state from an earlier run in {self.dir}")
                self._stop_processes()
            if apiserver_port is not None and port_in_use(apiserver_port):
                raise ClusterError(f"port {apiserver_port} is in use; pick another with --port or free it")
            binaries = find_bin_dir()
            missing = missing_in(binaries)
            if missing:
                raise ClusterError(f"missing {', '.join(missing)} in {binaries}; run hack/controlplane/build.sh")
            self._reset_dir()
            state = ClusterState(
                bin_dir=str(binaries),
                etcd_port=free_port(),
                etcd_peer_port=free_port(),
                apiserver_port=apiserver_port or free_port(),
            )
            try:
                self._start_all(state, tie_to_parent)
            except BaseException:
                self._stop_processes()
                raise
            return state, False

    def _reset_dir(self) -> None:
        for sub in ("etcd-data", "pki", "kubeconfigs", "logs"):
            subprocess.run(["rm", "-rf", str(self.dir / sub)], check=True)
        for sub in (self.pki_dir, self.logs_dir, self.kubeconfig_dir):
            sub.mkdir(parents=True)
        self.state_file.unlink(missing_ok=True)

    def _start_all(self, state: ClusterState, tie_to_parent: bool) -> None:
        tokens = self._write_pki_and_tokens(state)
        self._spawn(state, "etcd", [
            f"--data-dir={self.dir / 'etcd-data'}",
            f"--listen-client-urls=http://127.0.0.1:{state.etcd_port}",
            f"--advertise-client-urls=http://127.0.0.1:{state.etcd_port}",
            f"--listen-peer-urls=http://127.0.0.1:{state.etcd_peer_port}",
            f"--initial-advertise-peer-urls=http://127.0.0.1:{state.etcd_peer_port}",
            f"--initial-cluster=default=http://127.0.0.1:{state.etcd_peer_port}",
            "--unsafe-no-fsync=true",
            "--log-level=warn",
        ], tie_to_parent)
        self._wait("etcd", state, lambda: self._http_ok(f"http://127.0.0.1:{state.etcd_port}/health"))
        p = self.pki_dir
        self._spawn(state, "kube-apiserver", [
            f"--etcd-servers=http://127.0.0.1:{state.etcd_port}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            f"--secure-port={state.apiserver_port}",
            f"--tls-cert-file={p / 'apiserver.crt'}",
            f"--tls-private-key-file={p / 'apiserver.key'}",
            f"--client-ca-file={p / 'ca.crt'}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--authorization-mode=RBAC",
            f"--token-auth-file={self.dir / 'tokens.csv'}",
            f"--service-account-issuer={state.server}",
            f"--service-account-signing-key-file={p / 'sa.key'}",
            f"--service-account-key-file={p / 'sa.pub'}",
            "--enable-admission-plugins=MutatingAdmissionWebhook,ValidatingAdmissionWebhook",
            # The API server presents a client certificate to admission webhooks (the operator answers
            # only that), and resolves a webhook's Service to its endpoints itself (no kube-proxy here).
            f"--admission-control-config-file={self._write_admission_config()}",
            "--enable-aggregator-routing=true",
            "--allow-privileged=true",
            "--profiling=false",
            "--v=1",
        ], tie_to_parent)
        self._wait("kube-apiserver", state, lambda: self._ready(state), timeout=90)
        self._write_kubeconfigs(state, tokens)
        self._spawn(state, "kube-controller-manager", [
            f"--kubeconfig={self.kubeconfig_dir / 'kube-controller-manager.kubeconfig'}",
            # Its default controllers, as in any cluster (ClusterRole aggregation among them).
            f"--service-account-private-key-file={p / 'sa.key'}",
            f"--root-ca-file={p / 'ca.crt'}",
            "--leader-elect=false",
            "--secure-port=0",
            "--v=1",
        ], tie_to_parent)
        self._bootstrap(state)
        self.state_file.write_text(json.dumps(asdict(state), indent=2))

    def _write_pki_and_tokens(self, state: ClusterState) -> dict[str, str]:
        ca = pki.make_ca("strongroom-local-ca")
        ca.write(self.pki_dir / "ca.crt", self.pki_dir / "ca.key")
        serving = pki.issue_serving_cert(
            ca, "kube-apiserver", ["localhost", "kubernetes", "kubernetes.default"], ["127.0.0.1", "10.0.0.1"]
        )
        serving.write(self.pki_dir / "apiserver.crt", self.pki_dir / "apiserver.key")
        sa_key, sa_pub = pki.make_signing_key()
        (self.pki_dir / "sa.key").touch(mode=0o600)
        (self.pki_dir / "sa.key").write_bytes(sa_key)
        (self.pki_dir / "sa.pub").write_bytes(sa_pub)
        tokens = {user.name: secrets.token_urlsafe(32) for user in (*USERS, CONTROLLER_MANAGER)}
        lines = [
            f'{tokens[user.name]},{user.name},uid-{user.name},"{",".join(user.groups)}"'
            for user in (*USERS, CONTROLLER_MANAGER)
        ]
        token_file = self.dir / "tokens.csv"
        token_file.touch(mode=0o600)
        token_file.write_text("\n".join(lines) + "\n")
        return tokens

    @property
    def webhook_client_ca(self) -> Path:
        """The CA of the client certificate the API server presents to admission webhooks."""
        return self.pki_dir / "webhook-client-ca.crt"

    def _write_admission_config(self) -> Path:
        ca = pki.make_ca("strongroom-local-webhook-client-ca")
        ca.write(self.webhook_client_ca, self.pki_dir / "webhook-client-ca.key")
        cert = pki.issue_client_cert(ca, "kube-apiserver-webhook-client")
        cert.write(self.pki_dir / "webhook-client.crt", self.pki_dir / "webhook-client.key")
        kubeconfig = self.pki_dir / "webhook-client.kubeconfig"
        kubeconfig.write_text(yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config",
            "users": [{"name": "*", "user": {"client-certificate": str(self.pki_dir / "webhook-client.crt"),
                                             "client-key": str(self.pki_dir / "webhook-client.key")}}],
        }))
        plugin = {"apiVersion": "apiserver.config.k8s.io/v1", "kind": "WebhookAdmissionConfiguration",
                  "kubeConfigFile": str(kubeconfig)}
        config = self.dir / "admission.yaml"
        config.write_text(yaml.safe_dump({
            "apiVersion": "apiserver.config.k8s.io/v1", "kind": "AdmissionConfiguration",
            "plugins": [{"name": name, "configuration": plugin}
                        for name in ("ValidatingAdmissionWebhook", "MutatingAdmissionWebhook")],
        }))
        return config

    def _write_kubeconfigs(self, state: ClusterState, tokens: dict[str, str]) -> None:
        ca_pem = (self.pki_dir / "ca.crt").read_bytes()
        for user in (*USERS, CONTROLLER_MANAGER):
            name = user.name.removeprefix("system:")
            write_kubeconfig(self.kubeconfig_dir / f"{name}.kubeconfig", state.server, ca_pem, name, tokens[user.name])

    def _bootstrap(self, state: ClusterState) -> None:
        """Install Strongroom's ClusterRoles and the operator's identity: its namespace, ServiceAccount
        (bound only to its own roles) and the Service its webhooks are reached through."""
        api = api_client(self.kubeconfig_dir / "admin.kubeconfig")
        try:
            core = client.CoreV1Api(api)
            self._wait(
                "kube-controller-manager",
                state,
                lambda: bool(core.list_namespaced_service_account("default").items),
            )
            apply(api, [*rbac.all_cluster_roles(), *operator_identity()])
        finally:
            api.close()

    def _spawn(self, state: ClusterState, name: str, args: list[str], tie_to_parent: bool) -> None:
        log = (self.logs_dir / f"{name}.log").open("ab")
        with log:
            process = subprocess.Popen(
                [str(Path(state.bin_dir) / name), *args],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=die_with_parent if tie_to_parent else None,  # noqa: PLW1509
            )
        self._started[name] = process
        state.pids[name] = process.pid
        # Recorded at once, so that a failure later in `up` (or a `down` elsewhere) can stop it.
        self.state_file.write_text(json.dumps(asdict(state), indent=2))

    def _wait(self, name: str, state: ClusterState, ready: Callable[[], bool], timeout: float = 60) -> None:
        _progress(f"waiting for {name}...")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            process = self._started.get(name)
            if process is not None and process.poll() is not None:
                raise ClusterError(f"{name} exited at start; see {self.logs_dir / (name + '.log')}")
            with contextlib.suppress(Exception):
                if ready():
                    return
            time.sleep(0.2)
        raise ClusterError(f"{name} was not ready within {timeout:.0f}s; see {self.logs_dir}")

    def _http_ok(self, url: str, context: ssl.SSLContext | None = None, token: str | None = None) -> bool:
        request = urllib.request.Request(url)
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=2, context=context) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def _ready(self, state: ClusterState) -> bool:
        ca = self.pki_dir / "ca.crt"
        if not ca.exists():
            return False
        context = ssl.create_default_context(cafile=str(ca))
        return self._http_ok(f"{state.server}/readyz", context)

    # -- down ------------------------------------------------------------------------------------

    def down(self) -> bool:
        """Stop every process of this cluster and remove its state. False when nothing was running."""
        if not self.dir.exists():
            return False
        with self._lock():
            if self.state() is None:
                return False
            self._stop_processes()
            subprocess.run(["rm", "-rf", str(self.dir)], check=True)
            return True

    def _stop_processes(self) -> None:
        state = self.state()
        if state is None:
            return
        for name in ("kube-controller-manager", "kube-apiserver", "etcd"):
            pid = state.pids.get(name)
            if pid is None or not _alive(pid, name):
                continue
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 10
            while _alive(pid, name) and time.monotonic() < deadline:
                time.sleep(0.05)
            if _alive(pid, name):
                os.kill(pid, signal.SIGKILL)
        for process in self._started.values():  # reap our own children
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=1)
        self._started.clear()
        self.state_file.unlink(missing_ok=True)

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        """One `up` or `down` at a time per state directory."""
        with (self.dir / ".lock").open("w") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                raise ClusterError(f"another strongroom cluster command is working on {self.dir}") from exc
            yield
