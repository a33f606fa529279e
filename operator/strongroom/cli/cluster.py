"""`strongroom cluster up|down|kubeconfig|users`: the local control plane as a command."""

from __future__ import annotations

import time
from pathlib import Path

import click

from strongroom.cli.errors import CliError
from strongroom.devcluster import operator_process
from strongroom.devcluster.binaries import BinariesMissing
from strongroom.devcluster.controlplane import DEFAULT_DIR, ClusterError, LocalCluster
from strongroom.devcluster.install import install
from strongroom.devcluster.users import USERS
from strongroom.kube.client import api_client
from strongroom.webhook.configurations import remove_configuration

dir_option = click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_DIR,
    show_default=True,
    envvar="STRONGROOM_DIR",
    help="State directory of the local control plane.",
)


@click.group()
def cluster() -> None:
    """A local Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager)."""


@cluster.command()
@dir_option
@click.option("--port", type=click.IntRange(1, 65535), help="kube-apiserver port (default: a free one).")
def up(directory: Path, port: int | None) -> None:
    """Start the control plane, or reuse the one already running in DIR."""
    local = LocalCluster(directory)
    try:
        state, reused = local.up(apiserver_port=port)
    except (ClusterError, BinariesMissing) as exc:
        raise CliError(str(exc)) from exc
    verb = "already running" if reused else "started"
    click.echo(f"control plane {verb}: kube-apiserver at {state.server}")
    click.echo(f"kubeconfigs in {local.kubeconfig_dir}:")
    for user in USERS:
        click.echo(f"  {user.name:<20} {user.about:<48} {local.kubeconfig(user.name)}")
    click.echo(f"try: kubectl --kubeconfig {local.kubeconfig('admin')} get namespaces")


@cluster.command()
@dir_option
def down(directory: Path) -> None:
    """Stop the control plane in DIR and remove its state."""
    try:
        stopped = LocalCluster(directory).down()
    except ClusterError as exc:
        raise CliError(str(exc)) from exc
    click.echo("control plane stopped" if stopped else f"no control plane in {directory}")


@cluster.command()
@dir_option
@click.argument("user", type=click.Choice([user.name for user in USERS]))
def kubeconfig(directory: Path, user: str) -> None:
    """Print the path of USER's kubeconfig."""
    try:
        click.echo(LocalCluster(directory).kubeconfig(user))
    except ClusterError as exc:
        raise CliError(str(exc)) from exc


@cluster.command("operator")
@dir_option
@click.option("--replicas", default=2, show_default=True, type=click.IntRange(1, 5))
def run_operator(directory: Path, replicas: int) -> None:
    """Install Strongroom's API and run operator replicas here, as Pods would (Ctrl-C stops them)."""
    local = LocalCluster(directory)
    if local.running() is None:
        raise CliError(f"no cluster running in {directory}; start one with: strongroom cluster up")
    with api_client(local.kubeconfig("admin")) as admin:
        install(admin)
        running = []
        try:
            for i in range(replicas):
                running.append(operator_process.start(local, local.logs_dir / f"operator-{i}.log"))
                click.echo(f"replica {running[-1].name} ready (log: {running[-1].log})")
            click.echo("see who leads: strongroom operator status --kubeconfig "
                       f"{local.kubeconfig('admin')}; Ctrl-C stops the replicas")
            while all(r.process.poll() is None for r in running):
                time.sleep(1)
        except KeyboardInterrupt:
            pass
        except RuntimeError as exc:
            raise CliError(str(exc)) from exc
        finally:
            for replica in running:
                replica.stop()
            remove_configuration(admin)
