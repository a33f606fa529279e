"""The demo story on the local control plane, each step a `strongroom` command typed by the person who
takes it: alice asks for the production database, bob and carol see it pending and approve, the Secret
appears in alice's namespace and she reads her credential, it vanishes when the window ends, and
`history` says who did what and when."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from rich.console import Console

from strongroom.api.group import GROUP, VERSION
from strongroom.devcluster import operator_process
from strongroom.devcluster.controlplane import LocalCluster
from strongroom.devcluster.install import install
from strongroom.devcluster.sample import Sample, seed
from strongroom.devcluster.users import OPERATOR_USER
from strongroom.kube.client import api_client
from strongroom.webhook.configurations import remove_configuration

T = TypeVar("T")
WINDOW = "20s"


class DemoStepFailed(Exception):
    """A command of the story did not do what the story needs; the message says which."""


def _until(probe: Callable[[], T | None], timeout: float, what: str) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found = probe()
        except (ApiException, OSError):  # not there yet, or not listening yet
            found = None
        if found:
            return found
        time.sleep(0.1)
    raise TimeoutError(f"{what} did not happen within {timeout:.0f}s; see the operator log")


@contextmanager
def _operator(local: LocalCluster, admin: client.ApiClient) -> Iterator[Path]:
    """Two replicas of `strongroom operator` (one leads, both answer admission) for the demo's length."""
    replicas = [operator_process.start(local, local.logs_dir / f"operator-{i}.log", tied=True) for i in range(2)]
    try:
        yield replicas[0].log
    finally:
        for replica in replicas:
            replica.stop()
        # The webhook configuration fails closed while no operator runs; the demo leaves the cluster usable.
        remove_configuration(admin)


class Terminal:
    """Types `strongroom ...` as one person after another (their own kubeconfig), showing it all."""

    def __init__(self, local: LocalCluster, console: Console, namespace: str) -> None:
        self.local, self.console, self.namespace = local, console, namespace

    def __call__(self, user: str, *args: str) -> str:
        shown = " ".join(f'"{arg}"' if " " in arg else arg for arg in args)
        self.console.print(f"[bold cyan]{user}$[/] strongroom {shown} -n {self.namespace}")
        env = {**os.environ, "KUBECONFIG": str(self.local.kubeconfig(user))}
        done = subprocess.run([sys.executable, "-m", "strongroom", *args, "-n", self.namespace], env=env,
                              stdout=subprocess.PIPE, text=True, check=False)  # stderr (progress) goes straight out
        if done.stdout:
            self.console.print(done.stdout.rstrip(), markup=False, highlight=False)
        if done.returncode != 0:
            raise DemoStepFailed(f"`strongroom {shown}` as {user} exited {done.returncode}")
        return done.stdout


def _secret_exists(core: client.CoreV1Api, name: str, namespace: str) -> bool:
    """Asked as admin: alice may read only her own Secret, and only while her grant lasts."""
    try:
        core.read_namespaced_secret(name, namespace)
    except ApiException as exc:
        if exc.status == 404:
            return False
        raise
    return True


def play(local: LocalCluster, console: Console) -> None:
    say = console.print
    with api_client(local.kubeconfig("admin")) as admin:
        say("[bold]1. admin[/] installs the API and vaults the production database password in Safe prod-db "
            "(members: group dev; approvers: group sre-leads; 2 approvals; at most 1h)")
        install(admin)
        _until(lambda: client.CustomObjectsApi(admin).list_cluster_custom_object(
            GROUP, VERSION, "safes") is not None, 30, "the CRDs being served")
        sample: Sample = seed(admin, "vault", "team-alice", f"demo-{secrets.token_hex(8)}", {
            "description": "Production PostgreSQL",
            "members": [{"groups": ["dev"]}],
            "approvers": {"groups": ["sre-leads"]},
            "policy": {"requiredApprovals": 2, "requireReason": True, "maxDuration": "1h",
                       "allowedNamespaces": {"names": ["team-alice"]}},
        })
        with _operator(local, admin) as log:
            say(f"   two operator replicas run as {OPERATOR_USER}, one leading (log: {log})")
            term = Terminal(local, console, sample.team)
            name = f"fix-index-{secrets.token_hex(2)}"
            account = f"{sample.vault}/{sample.account}"
            say("[bold]2. alice[/] looks up what she may request, and asks for the production database")
            term("alice", "accounts")
            term("alice", "request", account, "--reason", "INC-4711 rebuild a broken index", "--for", WINDOW,
                 "--name", name)
            for approver in ("bob", "carol"):
                say(f"[bold]3. {approver}[/] sees it pending and approves")
                term(approver, "pending")
                term(approver, "approve", name, "--comment", "ok for INC-4711")
            say("[bold]4. alice[/] waits for access and reads her credential")
            active = term("alice", "wait", name, "--for", "active", "--timeout", "60s", "-o", "yaml")
            secret_name = yaml.safe_load(active)["status"]["secretName"]
            term("alice", "credentials", name)
            say(f"   Secret {secret_name} exists in {sample.team}: "
                f"{_secret_exists(client.CoreV1Api(admin), secret_name, sample.team)}")
            say(f"[bold]5.[/] the window of {WINDOW} runs out")
            term("alice", "wait", name, "--for", "finished", "--timeout", "90s")
            say(f"   Secret {secret_name} exists in {sample.team}: "
                f"{_secret_exists(client.CoreV1Api(admin), secret_name, sample.team)}")
            say("[bold]6.[/] the history says who did what and when")
            term("alice", "history", name)
