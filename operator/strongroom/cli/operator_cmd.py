"""`strongroom operator`: run the operator (the chart's container runs the same command)."""

from __future__ import annotations

from pathlib import Path

import click

from strongroom import runner


@click.command("operator")
@click.option(
    "--kubeconfig", type=click.Path(dir_okay=False, path_type=Path), help="Default: in-cluster or $KUBECONFIG."
)
@click.option("--liveness", metavar="URL", help="Serve a health endpoint, e.g. http://0.0.0.0:8080/healthz.")
@click.option("-n", "--namespace", "namespaces", multiple=True, help="Watch only these namespaces (default: all).")
def operator_command(kubeconfig: Path | None, liveness: str | None, namespaces: tuple[str, ...]) -> None:
    """Run the Strongroom operator."""
    runner.run(kubeconfig, liveness, namespaces)
