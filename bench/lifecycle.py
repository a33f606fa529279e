"""Request, approval, Secret, deletion: timed end to end against a real local control plane.

    .venv/bin/python -m bench.lifecycle [--lifecycles N] [--window SECONDS] [--concurrency K]

Starts its own control plane in a temporary directory and measures two bare bounds with no operator,
as admin: the same work (a Secret created, read back, kept for the window and deleted, K at a time)
and the API server's capacity (the same pairs back to back). Then it runs N lifecycles through the
operator, K in flight at any time, timed by one admin watch on the team's Secrets. Targets are
information only: the exit status is non-zero only for real errors (a refused call, a Secret never
delivered or deleted; such a request is deleted).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import secrets
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import yaml
from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException

from strongroom.api.group import GROUP, VERSION
from strongroom.devcluster.controlplane import LocalCluster
from strongroom.devcluster.users import USER_NAMES
from strongroom.kube.client import api_client, apply
from strongroom.policy.delivery import secret_name_for
from tests.conftest import CRDS_DIR, Cluster, start_operator
from tests.waiting import eventually
from tests.world import World, build_world

SETTLE = 30.0  # seconds a step may take beyond the window before the lifecycle counts as failed


def say(message: str) -> None:
    print(f"[bench] {message}", flush=True)


class SecretWatch:
    """Admin's watch on one namespace's Secrets: when each name was ADDED and DELETED (monotonic, wall)."""

    def __init__(self, api: client.ApiClient, namespace: str) -> None:
        self.core, self.namespace = client.CoreV1Api(api), namespace
        self.seen: dict[tuple[str, str], tuple[float, float]] = {}
        self.changed = threading.Condition()
        self.stopped = threading.Event()
        self.version: str = self.core.list_namespaced_secret(namespace).metadata.resource_version
        threading.Thread(target=self._run, name="secret-watch", daemon=True).start()

    def _run(self) -> None:
        while not self.stopped.is_set():
            try:
                for event in watch.Watch().stream(self.core.list_namespaced_secret, self.namespace,
                                                  resource_version=self.version, timeout_seconds=120):
                    stamp = (time.monotonic(), time.time())
                    secret: client.V1Secret = event["object"]
                    self.version = secret.metadata.resource_version
                    with self.changed:
                        self.seen[(event["type"], secret.metadata.name)] = stamp
                        self.changed.notify_all()
            except Exception:  # a dropped stream, or the API server going away at the end: resume or stop
                time.sleep(0.1)

    def when(self, kind: str, name: str, timeout: float) -> tuple[float, float]:
        with self.changed:
            if not self.changed.wait_for(lambda: (kind, name) in self.seen, timeout):
                raise TimeoutError(f"secret {name} was not {kind} within {timeout:.0f}s")
            return self.seen[(kind, name)]


@dataclass(frozen=True)
class Lifecycle:
    requested: float  # monotonic: alice starts filing the request
    to_secret: float  # s from bob's review PATCH returning to the Secret's ADDED event
    deletion_error: float  # s, the Secret's DELETED event minus status.notAfter (negative: early)
    deleted: float  # monotonic: the Secret's DELETED event


def why(failure: Exception) -> str:
    if not isinstance(failure, ApiException):
        return f"{type(failure).__name__}: {failure}"
    with contextlib.suppress(TypeError, ValueError, KeyError):
        return f"HTTP {failure.status}: {json.loads(failure.body)['message']}"
    return f"HTTP {failure.status}: {failure.reason}"


def one_lifecycle(world: World, seen: SecretWatch, window: int) -> Lifecycle | str:
    """One timed lifecycle, or why it failed (a refused call, a Secret never delivered or never deleted)."""
    requested, name = time.monotonic(), ""
    try:
        name = world.request("alice", wait=False, duration=f"{window}s")["metadata"]["name"]
        eventually(lambda: world.get("AccessRequest", name).get("status"), timeout=15, what=f"{name} seen")
        secret = secret_name_for(name)
        world.review("bob", name)
        approved = time.monotonic()
        added, _ = seen.when("ADDED", secret, SETTLE)
        world.core("alice").read_namespaced_secret(secret, world.team)  # readable by alice (untimed check)
        deleted, deleted_wall = seen.when("DELETED", secret, window + SETTLE)
        recorded = eventually(lambda: world.get("AccessRequest", name)["status"].get("notAfter"), timeout=SETTLE,
                              what=f"{name} status.notAfter recorded")  # may come after the Secret went
        not_after = datetime.fromisoformat(recorded)
    except Exception as failed:  # any failure ends this lifecycle, not the run
        if name:  # left behind, a stuck request would load the operator for the rest of the run
            with contextlib.suppress(ApiException):
                world.objects("admin").delete_namespaced_custom_object(
                    GROUP, VERSION, world.team, "accessrequests", name)
        return why(failed)
    return Lifecycle(requested, added - approved, deleted_wall - not_after.timestamp(), deleted)


def install_crds(admin: client.ApiClient) -> None:
    manifests = [yaml.safe_load(path.read_text()) for path in sorted(CRDS_DIR.glob("*.yaml"))]
    apply(admin, manifests)
    read = client.ApiextensionsV1Api(admin).read_custom_resource_definition
    for manifest in manifests:
        eventually(lambda name=manifest["metadata"]["name"]: any(
            c.type == "Established" and c.status == "True" for c in read(name).status.conditions or []),
            what="Established")


def bare_bound(admin: client.ApiClient, pairs: int, concurrency: int, hold: float) -> float:
    """Secrets created, read back, kept `hold` seconds and deleted, per second, K at a time, straight to
    the API server as admin. With `hold` the window, this is the lifecycles' work without the operator."""
    core = client.CoreV1Api(admin)
    namespace = f"bench-bare-{secrets.token_hex(3)}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
    data = {"username": "cG9zdGdyZXM=", "password": "cHctMDEyMzQ1Njc4OWFiY2RlZg==", "host": "ZGIuaW50ZXJuYWw="}

    def pair(number: int) -> None:
        name = f"bare-{number}-credential"
        core.create_namespaced_secret(namespace, client.V1Secret(
            metadata=client.V1ObjectMeta(name=name), type="kubernetes.io/basic-auth", data=data))
        core.read_namespaced_secret(name, namespace)
        time.sleep(hold)
        core.delete_namespaced_secret(name, namespace)

    started = time.monotonic()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(pair, range(pairs)))
    rate = pairs / (time.monotonic() - started)
    core.delete_namespace(namespace, propagation_policy="Background")
    return rate


def run_lifecycles(world: World, seen: SecretWatch, args: argparse.Namespace) -> tuple[list[Lifecycle], list[str]]:
    """N lifecycles, K in flight at any time; a progress line after every K that finish."""
    done: list[Lifecycle] = []
    failures: list[str] = []  # why each failed lifecycle failed
    for _ in range(args.warmup):
        warm = one_lifecycle(world, seen, args.window)
        say(f"warm-up: {'done' if isinstance(warm, Lifecycle) else 'FAILED: ' + warm} (not counted)")
    with ThreadPoolExecutor(args.concurrency) as pool:
        futures = [pool.submit(one_lifecycle, world, seen, args.window) for _ in range(args.lifecycles)]
        for finished, future in enumerate(as_completed(futures), start=1):
            outcome = future.result()
            if isinstance(outcome, Lifecycle):
                done.append(outcome)
            else:
                failures.append(outcome)
                say(f"FAILED: {outcome[:200]}")
            if finished % args.concurrency == 0 or finished == args.lifecycles:
                slowest = max((d.to_secret for d in done), default=0.0)
                say(f"{finished}/{args.lifecycles} lifecycles finished ({len(failures)} failed); "
                    f"approval->Secret max so far {slowest * 1000:.0f} ms")
    return done, failures


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest rank: the smallest value with at least `fraction` of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def report(done: list[Lifecycle], failures: list[str], bare: tuple[float, float], args: argparse.Namespace) -> None:
    same_work, capacity = bare
    print(f"\n{len(done)} of {args.lifecycles} lifecycles completed ({len(failures)} failed), window {args.window}s, "
          f"{args.concurrency} in flight (the window alone caps the rate near {args.concurrency / args.window:.2f}/s)")
    if not done:
        return
    to_secret = [d.to_secret * 1000 for d in done]
    errors = [abs(d.deletion_error) * 1000 for d in done]
    rate = len(done) / (max(d.deleted for d in done) - min(d.requested for d in done))
    p99_secret, p99_error = percentile(to_secret, 0.99), percentile(errors, 0.99)
    rows = [("p50 approval->Secret", f"{percentile(to_secret, 0.5):.0f} ms", "", None),
            ("p99 approval->Secret", f"{p99_secret:.0f} ms", "<= 250 ms", p99_secret <= 250),
            ("p50 |deleted - notAfter|", f"{percentile(errors, 0.5):.0f} ms", "", None),
            ("p99 |deleted - notAfter|", f"{p99_error:.0f} ms", "<= 1000 ms", p99_error <= 1000),
            ("lifecycles/s", f"{rate:.2f}", "", None),
            ("bare bound, same work", f"{same_work:.2f}/s", "", None),
            ("ratio to it", f"{rate / same_work:.2f}", ">= 0.5", rate / same_work >= 0.5),
            ("API capacity, pairs", f"{capacity:.1f}/s", "", None),
            ("ratio to it", f"{rate / capacity:.3f}", "", None)]
    print(f"{'figure':<26}{'measured':>16}  target (information only)")
    for label, value, target, met in rows:
        print(f"{label:<26}{value:>16}  {target:<12}{'' if met is None else ('met' if met else 'missed')}")


def run(args: argparse.Namespace, cluster: Cluster, scratch: Path) -> int:
    clients = {user: api_client(cluster.kubeconfig(user)) for user in USER_NAMES}
    install_crds(clients["admin"])
    say(f"CRDs established; the bare bounds (no operator): {args.lifecycles} Secrets kept {args.window}s, "
        f"{args.concurrency} at a time, then back to back")
    bare = (bare_bound(clients["admin"], args.lifecycles, args.concurrency, args.window),
            bare_bound(clients["admin"], args.lifecycles, args.concurrency, 0.0))
    say(f"bare bounds: {bare[0]:.2f}/s for the same work, {bare[1]:.1f} pairs/s back to back; starting the operator")
    operator = start_operator(cluster, args.operator_log or scratch / "operator.log")
    worlds = build_world(clients, {"policy": {"requiredApprovals": 1}})
    try:
        world = next(worlds)
        seen = SecretWatch(api_client(cluster.kubeconfig("admin")), world.team)
        say(f"world {world.vault} / {world.team} built; running {args.lifecycles} lifecycles")
        done, failures = run_lifecycles(world, seen, args)
        seen.stopped.set()  # (a daemon thread: on an exception it goes with the process)
    finally:
        operator.stop()  # its webhook configurations stay, but the whole control plane goes next
        next(worlds, None)
    report(done, failures, bare, args)
    if failures:  # real errors (refused calls, Secrets never delivered or deleted), not slowness
        kept = f"the operator's log is in {args.operator_log}" if args.operator_log else "--operator-log FILE keeps it"
        print(f"error: {len(failures)} lifecycle(s) failed (why: above); {kept}", file=sys.stderr)
    return 1 if failures else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.lifecycle", description=__doc__.splitlines()[0])
    parser.add_argument("--lifecycles", type=int, default=30, help="how many lifecycles to time (default 30)")
    parser.add_argument("--window", type=int, default=3, help="the requested duration, whole seconds (default 3)")
    parser.add_argument("--concurrency", type=int, default=5, help="lifecycles in flight at any time (default 5)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed lifecycles first (default 1)")
    parser.add_argument("--operator-log", type=Path, help="keep the operator's log in this file")
    args = parser.parse_args(argv)
    if args.lifecycles < 1 or args.window < 1 or args.concurrency < 1 or args.warmup < 0:
        parser.error("--lifecycles, --window and --concurrency must be at least 1, --warmup at least 0")
    with tempfile.TemporaryDirectory(prefix="strongroom-bench-") as scratch:
        local = LocalCluster(Path(scratch) / "controlplane")
        try:  # tie_to_parent: every process dies with this thread, even on a kill
            state, _ = local.up(tie_to_parent=True)
            return run(args, Cluster(local, state.server), Path(scratch))
        finally:
            local.down()


if __name__ == "__main__":
    sys.exit(main())
