"""The operator process: build everything once, fill the caches, then run kopf (watch streams and the
webhook server, on every replica), the work queue (only while leading), leader election, the
heartbeat and the health endpoint, until told to stop or deposed.

Exit codes: 0 stopped (a signal), 1 deposed (it could not
renew the Lease: it starts again as a standby), 2 bad settings.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import kopf

from strongroom import __version__, handlers
from strongroom.api.accessrequest import AccessRequest
from strongroom.api.account import Account
from strongroom.api.common import format_time
from strongroom.api.grant import Grant
from strongroom.api.group import GROUP, VERSION
from strongroom.api.phases import is_terminal
from strongroom.api.safe import Safe
from strongroom.controllers import accessrequest, grant, safe
from strongroom.controllers.account import AccountController
from strongroom.controllers.cache import Cache
from strongroom.controllers.context import Context, Identity, Settings, key_of
from strongroom.controllers.dependents import remember_written
from strongroom.controllers.manager import Manager
from strongroom.controllers.metrics import Metrics
from strongroom.identity.ledger import SealLedger
from strongroom.identity.sealing_key import ensure_signing_key
from strongroom.kube.client import api_client, whoami
from strongroom.kube.clock import Clock, SystemClock
from strongroom.kube.events import EventRecorder
from strongroom.kube.rest import Kube, core_path, group_path
from strongroom.kube.status import StatusWriter
from strongroom.rotation.rotator import Rotator
from strongroom.runtime import health
from strongroom.runtime.leader import COORDINATION, HEARTBEAT, Deposed, LeaderElector, LeaseSettings, member_lease
from strongroom.runtime.logs import configure
from strongroom.runtime.memory import release_freed
from strongroom.webhook.configurations import set_ca_bundle
from strongroom.webhook.server import ServingFiles, server

EXIT_STOPPED, EXIT_DEPOSED = 0, 1
LEDGER_PRUNE = 30.0  # seconds between forgetting seals too old to matter (in memory only)


@dataclass(frozen=True)
class WebhookOptions:
    listen: str = "0.0.0.0:9443"  # ADDR:PORT
    hosts: tuple[str, ...] = ("127.0.0.1", "localhost")  # names the serving certificate covers
    cert_dir: Path | None = None  # mounted tls.crt, tls.key, ca.crt (cert-manager); else the shared Secret
    client_ca: Path | None = None  # require a client certificate signed by this CA (the API server's)
    manage_ca_bundle: bool = True  # put the CA into the webhook configuration (not with cert-manager)


@dataclass(frozen=True)
class RunOptions:
    kubeconfig: Path | None
    settings: Settings
    lease: LeaseSettings | None  # None: lead at once, without election (only where no fence is installed)
    webhook: WebhookOptions = field(default_factory=WebhookOptions)
    health_listen: str = "0.0.0.0:8080"
    workers: int = 16
    watch_namespaces: tuple[str, ...] = ()


@dataclass
class Operator:
    """Everything one process runs, built once."""

    options: RunOptions
    ctx: Context
    manager: Manager
    elector: LeaderElector | None
    registry: kopf.OperatorRegistry
    synced: threading.Event = field(default_factory=threading.Event)


def build(options: RunOptions, clock: Clock | None = None, log: logging.Logger | None = None) -> Operator:
    """The operator's parts, wired; nothing runs yet. `clock`: the one clock (tests hand in their own)."""
    log = log or logging.getLogger("strongroom")
    clock = clock or SystemClock()
    metrics = Metrics()
    api = api_client(options.kubeconfig, connections=options.workers * 2 + 16)
    kube = Kube(api, observe=metrics.api_call)
    user, _ = whoami(api)
    identity = Identity(user=user, key=ensure_signing_key(kube, options.settings.namespace))
    cache = Cache()
    recorder = EventRecorder(kube, clock)
    manager = Manager(clock, {}, workers=options.workers, log=log, on_error=metrics.reconcile_error)
    metrics.queue_depth.set_function(manager.pending)  # read at each scrape, never stale
    status = StatusWriter(kube, clock, recorder, user, log)
    ctx = Context(kube=kube, settings=options.settings, identity=identity, clock=clock, cache=cache, queue=manager,
                  status=status, recorder=recorder, ledger=SealLedger(), metrics=metrics, log=log)
    status.on_written(lambda obj: remember_written(ctx, obj))
    rotator = Rotator(kube, clock, status, recorder, log,
                      on_result=lambda result: metrics.rotations.labels(result.value).inc())
    accounts = AccountController(ctx, rotator)
    manager.handle("AccessRequest", lambda key: accessrequest.reconcile(ctx, key[1], key[2]))
    manager.handle("Grant", lambda key: grant.reconcile(ctx, key[1], key[2]))
    manager.handle("Safe", lambda key: safe.reconcile(ctx, key[1], key[2]))
    manager.handle("Account", lambda key: accounts.reconcile(key[1], key[2]))
    elector = None
    if options.lease is not None:
        elector = LeaderElector(kube, options.lease, log, on_change=_leadership_noted(ctx, options.lease),
                                on_fenced=manager.retry_failed)
    registry = kopf.OperatorRegistry()
    handlers.register(registry, ctx, on_fence=elector.fence_seen if elector is not None else None)
    log.info(f"Started: strongroom {__version__} as {user}" +
             (f", replica {options.lease.identity}" if options.lease else ""))
    return Operator(options, ctx, manager, elector, registry)


def _leadership_noted(ctx: Context, lease: LeaseSettings) -> Callable[[bool, str], None]:
    def noted(leading: bool, why: str) -> None:
        ctx.metrics.leader.set(1 if leading else 0)
        ctx.metrics.leader_transitions.labels("leader" if leading else "standby").inc()
        reason = "LeaderElected" if leading else "LeaderStopped"
        ctx.log.info(f"{reason}: {why}")
        ctx.recorder.post(lease.namespace, {"apiVersion": COORDINATION, "kind": "Lease", "name": lease.name,
                                            "namespace": lease.namespace}, reason, why)
    return noted


def fill_caches(op: Operator) -> None:
    """List every kind once and queue every object: live Grants first (their deadlines may be overdue),
    everything else after. Objects that ended cost a look in memory, nothing more."""
    ctx = op.ctx
    namespaces = op.options.watch_namespaces or ("",)
    for item in _list_all(ctx.kube, core_path("namespaces"), ("",)):
        meta = item["metadata"]
        ctx.cache.put_namespace(meta["name"], dict(meta.get("labels") or {}))
    for kind in (Safe, Account, AccessRequest, Grant):
        plural = kind.crd.plural
        for item in _list_all(ctx.kube, plural, namespaces):
            with contextlib.suppress(ValueError):
                ctx.cache.put(kind.from_object(item))
    live = [g for g in ctx.cache.all(Grant) if not is_terminal(g.status.phase)]
    for obj in live:
        op.manager.enqueue(key_of(obj))
    for kind in (Safe, Account, AccessRequest, Grant):
        for obj in ctx.cache.all(kind):
            op.manager.enqueue(key_of(obj), bulk=True)
    op.synced.set()


def _list_all(kube: Kube, plural: str, namespaces: tuple[str, ...]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for namespace in namespaces:
        if plural.startswith("/"):
            path = plural
        elif namespace:
            path = f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{plural}"
        else:
            path = f"/apis/{GROUP}/{VERSION}/{plural}"
        items += kube.list(path)
    return items


def kopf_settings(op: Operator, files: ServingFiles) -> kopf.OperatorSettings:
    settings = kopf.OperatorSettings()
    webhook = op.options.webhook
    settings.posting.enabled = False  # Strongroom posts its own Events, with care for what they say
    settings.scanning.disabled = True  # the CRDs exist before the operator starts; no CRD watch
    settings.watching.server_timeout = 300
    settings.watching.reconnect_backoff = 1.0  # an API server that is away: one try a second, not a flood
    settings.networking.request_timeout = 30
    settings.execution.max_workers = 8  # the admission handlers; reconciling has its own pool
    # The watch handlers only put objects in the cache: their per-object workers need not linger, and
    # a stopping replica need not wait for them.
    settings.queueing.idle_timeout = 0.5
    settings.queueing.exit_timeout = 0.5
    host, _, port = webhook.listen.rpartition(":")
    settings.admission.server = server(host or "0.0.0.0", int(port), files, webhook.client_ca)
    settings.admission.managed = None  # the configuration is installed with Strongroom, not by kopf
    return settings


async def serve(op: Operator, files: ServingFiles, stop: asyncio.Event | None = None) -> int:
    """Run until stopped (a signal, `stop`), deposed, or asked to step down; the exit code."""
    stop = stop or asyncio.Event()
    ctx, options = op.ctx, op.options
    host, _, port = options.webhook.listen.rpartition(":")
    runner = await health.serve(options.health_listen, ctx.metrics.registry, op.synced.is_set,
                                ("127.0.0.1" if host in ("", "0.0.0.0") else host, int(port)))
    if not op.synced.is_set():  # /healthz answers while the first listing runs; /readyz once it is done
        await asyncio.to_thread(fill_caches, op)
    leading = op.elector.leading if op.elector is not None else asyncio.Event()
    if op.elector is None:
        leading.set()
        ctx.metrics.leader.set(1)
    kopf_stop, kopf_ready = asyncio.Event(), asyncio.Event()
    tasks = {
        "kopf": asyncio.create_task(kopf.operator(
            registry=op.registry, settings=kopf_settings(op, files), standalone=True,
            clusterwide=not options.watch_namespaces, namespaces=list(options.watch_namespaces),
            stop_flag=kopf_stop, ready_flag=kopf_ready)),
        "manager": asyncio.create_task(op.manager.run(leading)),
        "housekeeping": asyncio.create_task(_housekeeping(op, leading)),
        "stop": asyncio.create_task(_until_stopped(stop, kopf_ready)),
    }
    if op.elector is not None:
        tasks["elector"] = asyncio.create_task(op.elector.run())
    code = EXIT_STOPPED
    try:
        done, _ = await asyncio.wait(tasks.values(), return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            error = None if task.cancelled() else task.exception()
            if isinstance(error, Deposed):
                code = EXIT_DEPOSED
            elif error is not None:
                ctx.log.error(f"Stopped: {task.get_name()} failed", exc_info=error)
                code = EXIT_DEPOSED
    finally:
        stop.set()
        if op.elector is not None and code == EXIT_STOPPED and op.elector.leading.is_set():
            op.elector.leading.clear()  # the fence emptied next is not to be put right by this replica
            await asyncio.to_thread(op.elector.release)  # a standby need not wait out the lease
        # Strongroom's own work ends first, kopf (the watches and the webhook server) last: kopf waits
        # for every task it did not start, so whatever still ran would hold the exit up.
        ours = [task for name, task in tasks.items() if name != "kopf"]
        for task in ours:
            task.cancel()
        await asyncio.wait(ours, timeout=10)
        await runner.cleanup()
        kopf_stop.set()
        with contextlib.suppress(BaseException):
            await asyncio.wait_for(tasks["kopf"], timeout=10)
        ctx.recorder.close()
    return code


async def _until_stopped(stop: asyncio.Event, kopf_ready: asyncio.Event) -> None:
    """Return once `stop` is set. kopf takes SIGINT and SIGTERM when it starts in the main thread; they
    are taken back, so that a signal stops in Strongroom's order (see `serve`)."""
    ready = asyncio.ensure_future(kopf_ready.wait())
    stopped = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait([ready, stopped], return_when=asyncio.FIRST_COMPLETED)
        if kopf_ready.is_set() and threading.current_thread() is threading.main_thread():
            loop = asyncio.get_running_loop()
            for signal_number in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signal_number, stop.set)
        await stopped
    finally:
        ready.cancel()
        stopped.cancel()


async def _housekeeping(op: Operator, leading: asyncio.Event) -> None:
    """Things kept in memory only (the seal ledger), freed memory handed back once a burst of work is done,
    and this replica's heartbeat for `operator status`."""
    ctx, lease = op.ctx, op.options.lease
    started = format_time(datetime.now(UTC))
    last_beat = -HEARTBEAT.total_seconds()
    trimmed_at = -1  # the reconcile count at the last trim
    loop = asyncio.get_running_loop()
    while True:
        ctx.ledger.prune(ctx.clock.now())
        if op.manager.reconciled != trimmed_at and op.manager.idle():
            trimmed_at = op.manager.reconciled
            await asyncio.to_thread(release_freed)
        if lease is not None and loop.time() - last_beat >= HEARTBEAT.total_seconds():
            last_beat = loop.time()
            body = member_lease(lease, __version__, started, leading.is_set())
            with contextlib.suppress(Exception):  # a heartbeat is informational; the Lease decides who leads
                await asyncio.to_thread(_beat, ctx.kube, body)
        await asyncio.sleep(LEDGER_PRUNE)


def _beat(kube: Kube, body: dict[str, Any]) -> None:
    meta = body["metadata"]
    path = group_path(COORDINATION, "leases", meta["namespace"], meta["name"])
    found = kube.get(path)
    if found is None:
        kube.create(group_path(COORDINATION, "leases", meta["namespace"]), body)
    else:
        kube.request("PUT", path, body={**body, "metadata": {**found["metadata"], **meta}})


def run(options: RunOptions) -> int:
    log = configure()
    op = build(options, log=log)
    with tempfile.TemporaryDirectory(prefix="strongroom-webhook-") as scratch:
        files = serving_files(op, Path(scratch))
        return asyncio.run(serve(op, files))


def serving_files(op: Operator, scratch: Path) -> ServingFiles:
    webhook = op.options.webhook
    if webhook.cert_dir is not None:
        return ServingFiles.in_dir(webhook.cert_dir)
    files = ServingFiles.shared(op.ctx.kube, op.options.settings.namespace, list(webhook.hosts), scratch)
    if webhook.manage_ca_bundle and set_ca_bundle(op.ctx.kube.api, files.ca.read_bytes()):
        op.ctx.log.info("WebhookCA: the webhook configuration now trusts the shared serving certificate's CA")
    return files
