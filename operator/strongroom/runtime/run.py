"""Run the operator in this process against the given kubeconfig (default: in-cluster or $KUBECONFIG)."""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import kopf

import strongroom.handlers  # noqa: F401  (importing registers the handlers)
from strongroom.controllers.context import OperatorContext, WebhookSettings
from strongroom.kube.client import api_client
from strongroom.webhook import configurations as webhooks
from strongroom.webhook.server import ServingFiles


@dataclass(frozen=True)
class RunOptions:
    kubeconfig: Path | None
    namespace: str  # the operator's own namespace (sealing key)
    liveness: str | None
    webhook_listen: str  # ADDR:PORT
    webhook_url: str | None  # reach the webhook by URL (local); writes the configurations
    webhook_service: str | None  # NAMESPACE/NAME:PORT (in a cluster); writes the configurations
    webhook_cert_dir: Path | None  # tls.crt, tls.key, ca.crt; generated when None
    retention: timedelta
    watch_namespaces: tuple[str, ...] = ()


def _webhook_settings(options: RunOptions, scratch: Path) -> WebhookSettings:
    addr, _, port = options.webhook_listen.rpartition(":")
    hosts = ["127.0.0.1", "localhost"]
    if options.webhook_service:
        namespace, _, rest = options.webhook_service.partition("/")
        name = rest.partition(":")[0]
        hosts += [f"{name}.{namespace}.svc", f"{name}.{namespace}.svc.cluster.local"]
    files = (
        ServingFiles.in_dir(options.webhook_cert_dir)
        if options.webhook_cert_dir
        else ServingFiles.generate(scratch, hosts)
    )
    ca = files.ca.read_bytes()
    config: webhooks.ClientConfig | None = None
    if options.webhook_url:
        config = webhooks.by_url(options.webhook_url, ca)
    elif options.webhook_service:
        namespace, _, rest = options.webhook_service.partition("/")
        name, _, service_port = rest.partition(":")
        config = webhooks.by_service(namespace, name, int(service_port or 443), ca)
    return WebhookSettings(addr or "0.0.0.0", int(port), files, config)


def run(options: RunOptions) -> None:
    kopf.configure(log_format=kopf.LogFormat.JSON, verbose=False)
    # The serving files must outlive the operator: kopf re-reads them while it runs.
    with tempfile.TemporaryDirectory(prefix="strongroom-webhook-") as scratch:
        ctx = OperatorContext(
            api=api_client(options.kubeconfig),
            namespace=options.namespace,
            webhook=_webhook_settings(options, Path(scratch)),
            retention=options.retention,
        )
        asyncio.run(
            kopf.operator(
                clusterwide=not options.watch_namespaces,
                namespaces=list(options.watch_namespaces),
                standalone=True,
                liveness_endpoint=options.liveness,
                memo=kopf.Memo(ctx=ctx),
            )
        )
