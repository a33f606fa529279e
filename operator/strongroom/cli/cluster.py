"""`strongroom cluster up|down|kubeconfig|users`: the local control plane as a command."""

from __future__ import annotations

from pathlib import Path

import click

from strongroom.cli.errors import CliError
from strongroom.devcluster.binaries import BinariesMissing
from strongroom.devcluster.controlplane import DEFAULT_DIR, ClusterError, LocalCluster
from strongroom.devcluster.users import USERS

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
