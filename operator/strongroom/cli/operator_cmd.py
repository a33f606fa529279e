"""`strongroom operator`: run the operator (the chart's container runs the same command), see its
replicas and who leads (`status`), ask the leader to step down (`failover`); `strongroom version`."""

from __future__ import annotations

import os
import socket
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from strongroom import __version__
from strongroom.api import KINDS
from strongroom.api.group import GROUP
from strongroom.cli.errors import CliError, api_error
from strongroom.cli.output import emit
from strongroom.cli.session import Session, session_options
from strongroom.controllers.context import Settings
from strongroom.kube.clock import SystemClock
from strongroom.kube.events import EventRecorder
from strongroom.kube.rest import Kube
from strongroom.policy.durations import parse_duration
from strongroom.runtime.leader import COMPONENT_LABEL, MEMBER, STEP_DOWN, LeaseSettings

DEFAULT_NAMESPACE = "strongroom-system"
DEFAULT_LEASE = "strongroom-operator"


def _namespace_default() -> str:
    return os.environ.get("POD_NAMESPACE", DEFAULT_NAMESPACE)


def _duration(name: str, text: str) -> timedelta:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise CliError(f"{name}: {exc}") from exc


@click.group("operator", invoke_without_command=True)
@click.option("--kubeconfig", type=click.Path(dir_okay=False, path_type=Path),
              help="Default: in-cluster, else $KUBECONFIG.")
@click.option("--operator-namespace", default=_namespace_default, show_default="$POD_NAMESPACE or strongroom-system",
              help="Where the operator keeps its sealing key, webhook certificate and Lease.")
@click.option("--health-listen", default="0.0.0.0:8080", show_default=True, metavar="ADDR:PORT",
              help="Serve /healthz, /readyz and /metrics here.")
@click.option("--webhook-listen", default="0.0.0.0:9443", show_default=True, metavar="ADDR:PORT",
              help="Where the admission webhook server listens.")
@click.option("--webhook-service", metavar="NAMESPACE/NAME",
              help="The Service the API server reaches the webhooks through (its names go into the certificate).")
@click.option("--webhook-host", "webhook_hosts", multiple=True, metavar="HOST",
              help="Another name or address the webhook certificate covers (repeatable).")
@click.option("--webhook-cert-dir", type=click.Path(file_okay=False, path_type=Path),
              help="tls.crt, tls.key and ca.crt for the webhook (cert-manager); default: the shared Secret.")
@click.option("--webhook-client-ca", type=click.Path(dir_okay=False, path_type=Path),
              help="Answer only callers with a client certificate from this CA (the API server's).")
@click.option("--retention", default="30d", show_default=True, help="How long finished requests are kept.")
@click.option("-n", "--namespace", "watch_namespaces", multiple=True, help="Watch only these namespaces.")
@click.option("--leader-elect/--no-leader-elect", default=True, show_default=True,
              help="Reconcile only while holding the leader Lease (off only where no fence policy is installed).")
@click.option("--lease-name", default=DEFAULT_LEASE, show_default=True)
@click.option("--lease-duration", default="15s", show_default=True)
@click.option("--renew-deadline", default="10s", show_default=True)
@click.option("--retry-period", default="2s", show_default=True)
@click.option("--identity", default=lambda: os.environ.get("POD_NAME") or socket.gethostname(),
              show_default="$POD_NAME or the host name", help="This replica's name in the Lease (its pod's name).")
@click.option("--workers", default=16, show_default=True, type=click.IntRange(1, 128))
@click.pass_context
def operator_command(  # noqa: PLR0917  (click passes every option as an argument)
    ctx: click.Context, kubeconfig: Path | None, operator_namespace: str, health_listen: str, webhook_listen: str,
    webhook_service: str | None, webhook_hosts: tuple[str, ...], webhook_cert_dir: Path | None,
    webhook_client_ca: Path | None, retention: str, watch_namespaces: tuple[str, ...], leader_elect: bool,
    lease_name: str, lease_duration: str, renew_deadline: str, retry_period: str, identity: str, workers: int,
) -> None:
    """Run the Strongroom operator (or see `status`, ask for a `failover`)."""
    if ctx.invoked_subcommand is not None:
        return
    from strongroom.runtime.run import RunOptions, WebhookOptions, run  # noqa: PLC0415  (only when running)

    hosts = ["127.0.0.1", "localhost", *webhook_hosts]
    if webhook_service:
        namespace, _, name = webhook_service.partition("/")
        if not namespace or not name:
            raise CliError("--webhook-service: give NAMESPACE/NAME")
        hosts += [f"{name}.{namespace}.svc", f"{name}.{namespace}.svc.cluster.local"]
    try:
        lease = LeaseSettings(lease_name, operator_namespace, identity, _duration("--lease-duration", lease_duration),
                              _duration("--renew-deadline", renew_deadline),
                              _duration("--retry-period", retry_period)) if leader_elect else None
    except ValueError as exc:
        raise CliError(str(exc), 2) from exc
    code = run(RunOptions(
        kubeconfig=kubeconfig,
        settings=Settings(namespace=operator_namespace, retention=_duration("--retention", retention)),
        lease=lease,
        webhook=WebhookOptions(listen=webhook_listen, hosts=tuple(hosts), cert_dir=webhook_cert_dir,
                               client_ca=webhook_client_ca, manage_ca_bundle=webhook_cert_dir is None),
        health_listen=health_listen, workers=workers, watch_namespaces=watch_namespaces,
    ))
    sys.exit(code)


lease_option = click.option("--lease-name", default=DEFAULT_LEASE, show_default=True,
                            help="The leader Lease (the operator's --lease-name).")


def _leases(session: Session, namespace: str, lease: str) -> tuple[Any, list[Any]]:
    coordination = client.CoordinationV1Api(session.api)
    try:
        leader = coordination.read_namespaced_lease(lease, namespace)
    except ApiException as exc:
        if exc.status != 404:
            raise api_error(exc, f"read the leader Lease in {namespace}") from exc
        leader = None
    try:
        members = coordination.list_namespaced_lease(namespace, label_selector=f"{COMPONENT_LABEL}={MEMBER}").items
    except ApiException as exc:
        raise api_error(exc, f"list the operator's replicas in {namespace}") from exc
    return leader, members


def _age(moment: datetime | None, now: datetime) -> str:
    return f"{int((now - moment).total_seconds())}s ago" if moment else "-"


@operator_command.command("status")
@click.option("--operator-namespace", default=_namespace_default, show_default="$POD_NAMESPACE or strongroom-system")
@lease_option
@session_options("json", "yaml")
def status(session: Session, operator_namespace: str, lease_name: str) -> None:
    """The operator's replicas, which one leads, since when, and its last renewal."""
    leader, members = _leases(session, operator_namespace, lease_name)
    now = datetime.now(UTC)
    holder = leader.spec.holder_identity if leader is not None else None
    rows = []
    for member in members:
        annotations = member.metadata.annotations or {}
        renewed = member.spec.renew_time
        stale = renewed is None or now - renewed > timedelta(seconds=(member.spec.lease_duration_seconds or 90))
        rows.append({"replica": member.spec.holder_identity, "version": annotations.get("strongroom.dev/version"),
                     "started": annotations.get("strongroom.dev/started"),
                     "role": "leader" if member.spec.holder_identity == holder else "standby",
                     "heartbeat": _age(renewed, now), "state": "gone" if stale else "running"})
    summary = {
        "leader": holder or None,
        "leadingSince": leader.spec.acquire_time.isoformat() if leader is not None and leader.spec.acquire_time
        else None,
        "lastRenewal": leader.spec.renew_time.isoformat() if leader is not None and leader.spec.renew_time else None,
        "transitions": leader.spec.lease_transitions if leader is not None else None,
        "replicas": rows,
    }
    if session.output in ("json", "yaml"):
        emit(summary, session.output)
        return
    click.echo(f"leader: {holder or '(none)'}  since: {summary['leadingSince'] or '-'}  "
               f"last renewal: {_age(leader.spec.renew_time if leader is not None else None, now)}  "
               f"transitions: {summary['transitions'] if summary['transitions'] is not None else '-'}")
    emit(summary, "table", {"REPLICA": "replica", "ROLE": "role", "STATE": "state", "VERSION": "version",
                            "STARTED": "started", "HEARTBEAT": "heartbeat"}, rows, empty="no replica has reported")


@operator_command.command("failover")
@click.option("--operator-namespace", default=_namespace_default, show_default="$POD_NAMESPACE or strongroom-system")
@lease_option
@session_options()
def failover(session: Session, operator_namespace: str, lease_name: str) -> None:
    """Ask the leader to step down, so that a standby takes over (for maintenance)."""
    leader, _ = _leases(session, operator_namespace, lease_name)
    if leader is None or not leader.spec.holder_identity:
        raise CliError(f"no replica leads in {operator_namespace}; nothing to fail over")
    asked = f"{datetime.now(UTC).isoformat(timespec='seconds')} {session.user}"
    try:
        client.CoordinationV1Api(session.api).patch_namespaced_lease(
            lease_name, operator_namespace, {"metadata": {"annotations": {STEP_DOWN: asked}}})
    except ApiException as exc:
        raise api_error(exc, f"ask the leader in {operator_namespace} to step down") from exc
    recorder = EventRecorder(Kube(session.api), SystemClock())
    recorder.post(operator_namespace, {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "name": lease_name,
                                       "namespace": operator_namespace, "uid": leader.metadata.uid},
                  "FailoverRequested", f"{session.user} asked {leader.spec.holder_identity} to step down")
    recorder.close()
    click.echo(f"asked {leader.spec.holder_identity} to step down; a standby takes over within a few seconds "
               f"(see: strongroom operator status)")


@click.command("version")
@click.option("--operator-namespace", default=_namespace_default, show_default="$POD_NAMESPACE or strongroom-system")
@lease_option
@session_options("json", "yaml")
def version(session: Session, operator_namespace: str, lease_name: str) -> None:
    """This client's version, the running operators' and the installed CRDs'."""
    _, members = _leases(session, operator_namespace, lease_name)
    extensions = client.ApiextensionsV1Api(session.api)
    crds = {}
    for kind in KINDS:
        try:
            found = extensions.read_custom_resource_definition(f"{kind.crd.plural}.{GROUP}")
            crds[kind.crd.plural] = [v.name for v in found.spec.versions if v.served]
        except ApiException as exc:
            crds[kind.crd.plural] = ["not installed"] if exc.status == 404 else [f"unreadable ({exc.status})"]
    report = {
        "client": __version__,
        "operators": {m.spec.holder_identity: (m.metadata.annotations or {}).get("strongroom.dev/version")
                      for m in members},
        "crds": crds,
    }
    if session.output in ("json", "yaml"):
        emit(report, session.output)
        return
    click.echo(f"client: strongroom {__version__}")
    for replica, running in report["operators"].items() or {"(none reported)": "-"}.items():
        click.echo(f"operator: {replica}: {running}")
    for plural, versions in crds.items():
        click.echo(f"crd: {plural}.{GROUP}: {', '.join(versions)}")
