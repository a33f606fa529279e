"""`strongroom demo`: start the local control plane and show who is who and what each may do."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from rich.console import Console
from rich.table import Table

from strongroom.cli.cluster import dir_option
from strongroom.cli.errors import CliError
from strongroom.devcluster.binaries import BinariesMissing
from strongroom.devcluster.controlplane import ClusterError, LocalCluster
from strongroom.devcluster.story import DemoStepFailed, play
from strongroom.devcluster.users import USERS
from strongroom.kube.client import api_client, self_may

# (verb, resource, namespace) questions every user is asked about, through the real API server.
QUESTIONS = (
    ("list", "secrets", "default"),
    ("create", "namespaces", None),
    ("create", "subjectaccessreviews", None),
)


def _may(api: client.ApiClient, verb: str, resource: str, namespace: str | None) -> bool:
    group = "authorization.k8s.io" if resource == "subjectaccessreviews" else ""
    return self_may(api, verb=verb, resource=resource, group=group, namespace=namespace or "")


@click.command()
@dir_option
def demo(directory: Path) -> None:
    """Start the local control plane, show who is who, and play a request from asking to expiry."""
    console = Console(width=None if sys.stdout.isatty() else 120)
    local = LocalCluster(directory)
    try:
        state, reused = local.up()
    except (ClusterError, BinariesMissing) as exc:
        raise CliError(str(exc)) from exc
    console.print(f"[bold]control plane {'reused' if reused else 'started'}[/] at {state.server}")
    table = Table(title="Who is who, as kube-apiserver answers for each user's own token")
    for column in ("authenticated as", "groups", *(f"may {v} {r}" for v, r, _ in QUESTIONS)):
        table.add_column(column)
    for user in USERS:
        with api_client(local.kubeconfig(user.name)) as api:
            info = client.AuthenticationV1Api(api).create_self_subject_review(
                client.V1SelfSubjectReview(metadata=client.V1ObjectMeta())).status.user_info
            answers = ["yes" if _may(api, *q) else "no" for q in QUESTIONS]
        groups = ", ".join(g for g in info.groups if g != "system:authenticated")
        table.add_row(info.username, groups, *answers)
    console.print(table)
    console.print(f"Each user's kubeconfig: {local.kubeconfig_dir}/USER.kubeconfig")
    try:
        play(local, console)
    except (TimeoutError, DemoStepFailed) as exc:
        raise CliError(str(exc)) from exc
    except ApiException as exc:
        raise CliError(f"the API server refused a demo step ({exc.status} {exc.reason}); see {local.logs_dir}") from exc
    console.print(f"The cluster keeps running. Stop it with: make down (or strongroom cluster down --dir {directory})")
