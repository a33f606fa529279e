"""`strongroom operator`: run the operator (the chart's container runs the same command)."""

from __future__ import annotations

import os
from pathlib import Path

import click

from strongroom.cli.errors import CliError
from strongroom.policy.durations import parse_duration
from strongroom.runtime import run as runner


@click.command("operator")
@click.option(
    "--kubeconfig", type=click.Path(dir_okay=False, path_type=Path), help="Default: in-cluster or $KUBECONFIG."
)
@click.option(
    "--operator-namespace", default=lambda: os.environ.get("POD_NAMESPACE", "strongroom-system"),
    show_default="$POD_NAMESPACE or strongroom-system", help="Where the operator keeps its sealing key.",
)
@click.option("--liveness", metavar="URL", help="Serve a health endpoint, e.g. http://0.0.0.0:8080/healthz.")
@click.option("--webhook-listen", default="0.0.0.0:9443", show_default=True, metavar="ADDR:PORT",
              help="Where the admission webhook server listens.")
@click.option("--webhook-url", metavar="URL",
              help="Install webhook configurations that reach this server at URL (e.g. https://127.0.0.1:9443).")
@click.option("--webhook-service", metavar="NAMESPACE/NAME:PORT",
              help="Install webhook configurations that reach this server through a Service.")
@click.option("--webhook-cert-dir", type=click.Path(file_okay=False, path_type=Path),
              help="tls.crt, tls.key and ca.crt for the webhook (default: generated at start).")
@click.option("--retention", default="30d", show_default=True, help="How long finished requests are kept.")
@click.option("-n", "--namespace", "watch_namespaces", multiple=True, help="Watch only these namespaces.")
def operator_command(  # noqa: PLR0917  (click passes every option as an argument)
    kubeconfig: Path | None, operator_namespace: str, liveness: str | None, webhook_listen: str,
    webhook_url: str | None, webhook_service: str | None, webhook_cert_dir: Path | None, retention: str,
    watch_namespaces: tuple[str, ...],
) -> None:
    """Run the Strongroom operator."""
    if webhook_url and webhook_service:
        raise CliError("give --webhook-url or --webhook-service, not both")
    try:
        kept = parse_duration(retention)
    except ValueError as exc:
        raise CliError(f"--retention: {exc}") from exc
    runner.run(runner.RunOptions(
        kubeconfig=kubeconfig, namespace=operator_namespace, liveness=liveness, webhook_listen=webhook_listen,
        webhook_url=webhook_url, webhook_service=webhook_service, webhook_cert_dir=webhook_cert_dir,
        retention=kept, watch_namespaces=watch_namespaces,
    ))
