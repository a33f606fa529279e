"""The leader killed again and again while lifecycles run: how long the operator is leaderless, and what
that costs the people using it.

    .venv/bin/python -m bench.failover [--replicas 3] [--kills 10] [--lifecycles 200] [--lease-duration 15s] ...

Starts its own control plane, installs Strongroom and starts three replicas (each a Pod of its own
with a pod-bound token, all serving the webhooks behind the Service; one leads). Lifecycles run
continuously, K in flight (alice files, bob approves, the Secret appears and goes at notAfter),
until at least L have run and every kill is done. Every `--interval` seconds after a new leader took
over, the leader is killed with SIGKILL; at once its address is taken out of the Service (as the
endpoints controller would) and its Pod deleted, and a replacement replica is started. The
benchmark plays the endpoints controller for the other replicas too: one that exits on its own is
taken out and replaced, one whose /readyz fails three times in a row (1 s apart) is taken out until
it is ready again; both count as a problem.

Measured: from each kill to the new leader's first reconcile (its log line "LeaderElected", stamped
by the replica itself: its workers start in the same step); the largest |Secret deleted - notAfter|
of the grants whose deadline fell in a leaderless gap, and of all; requests and reviews refused at
admission; duplicate Grants (more than one for one request); approved requests never activated;
Secrets delivered whose Grant never recorded `secretWrittenAt` (readable while the record says not).

Every figure is printed as `figure: value (target: ...)`; targets are information. The exit status
is 1 for real errors (refusals, duplicates, approved requests never activated, failed lifecycles),
2 when the benchmark could not run.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from bench.common import (
    Bench,
    Lifecycle,
    Report,
    Watches,
    World,
    at_most,
    holder,
    lease_args,
    lifecycle,
    list_raw,
    parse_time,
    percentile,
    run_bench,
    safe_spec,
    sample_namespace,
    say,
    secs,
    until,
)
from bench.common import ms as show_ms
from strongroom.devcluster.operator_process import LocalOperator
from strongroom.policy.delivery import secret_name_for
from strongroom.policy.durations import parse_duration

RETRY_PAUSE = 1.0  # seconds a lifecycle thread waits after a failed lifecycle before the next
FIGURES = (
    "kills", "failover (kill to the new leader's first reconcile) p50", "failover max",
    "largest |Secret deleted - notAfter|, deadline in a leaderless gap", "largest |Secret deleted - notAfter|, all",
    "requests refused at admission", "reviews refused at admission", "duplicate Grants",
    "approved requests never activated", "credentials delivered without secretWrittenAt",
    "replicas that left the Service on their own (exited, or /readyz failing)",
    "lifecycles", "lifecycles failed (other than refusals)",
    "approval->Secret p50", "approval->Secret p99", "targets missed",
)


@dataclass
class Gap:
    killed: str
    kill_at: float  # wall clock
    elected_at: float | None = None  # wall clock, as the new leader logged it
    leader: str = ""


@dataclass
class Driver:
    """Lifecycles run continuously on `concurrency` threads until told to stop."""

    world: World
    seen: Watches
    window: int
    settle: float
    done: list[Lifecycle] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    started: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self, concurrency: int) -> list[threading.Thread]:
        threads = [threading.Thread(target=self._loop, name=f"lifecycles-{i}", daemon=True)
                   for i in range(concurrency)]
        for thread in threads:
            thread.start()
        return threads

    def _loop(self) -> None:
        while not self.stop.is_set():
            with self.lock:
                self.started += 1
            outcome = lifecycle(self.world, self.seen, self.window, self.settle, keep_failed=True)
            with self.lock:
                self.done.append(outcome)
            for refusal in outcome.refused:
                say(f"refused at admission: {refusal[:300]}")
            if outcome.error and not outcome.refused:
                say(f"lifecycle {outcome.name} failed: {outcome.error[:300]}")
            if outcome.error:
                time.sleep(RETRY_PAUSE)  # as a person would: not a tight loop of refusals


def elected(operator: LocalOperator, after: float) -> float | None:
    """When `operator` logged that it took the Lease, after `after` (wall clock); None if it has not."""
    for line in operator.output().splitlines():
        if '"LeaderElected' not in line and "LeaderElected:" not in line:
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if str(entry.get("message", "")).startswith("LeaderElected"):
            stamp = parse_time(str(entry["time"]))
            if stamp > after:
                return stamp
    return None


@dataclass
class Replicas:
    """The running replicas, and what the endpoints controller and the ReplicaSet do for them: a
    replica killed, exited on its own, or failing /readyz three times in a row (1 s apart) is taken
    out of the Service at once; one killed or exited is replaced by a new replica."""

    bench: Bench
    live: list[LocalOperator] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)  # replicas that left the Service on their own, and why
    _failing: Counter[str] = field(default_factory=Counter)
    _unready: set[str] = field(default_factory=set)
    _probed: float = 0.0

    def start(self) -> LocalOperator:
        started = self.bench.start_operator()
        self.live.append(started)
        return started

    def take_out(self, replica: LocalOperator) -> None:
        replica.replica.unpublish()  # what the endpoints controller does for a Pod that is gone
        replica.replica.remove()
        self.live.remove(replica)

    def tend(self) -> None:
        for replica in list(self.live):
            if replica.process.poll() is not None:
                self.lost.append(f"{replica.name} exited with {replica.process.returncode}")
                say(f"replica {replica.name} exited on its own ({replica.process.returncode}); taking it out "
                    f"of the Service and starting a replacement (see {replica.log})")
                self.take_out(replica)
                self.start()
        if time.monotonic() - self._probed < 1.0:
            return
        self._probed = time.monotonic()
        for replica in self.live:
            if replica.ready():
                self._failing[replica.name] = 0
                if replica.name in self._unready:
                    self._unready.discard(replica.name)
                    replica.replica.publish()
                continue
            self._failing[replica.name] += 1
            if self._failing[replica.name] == 3 and replica.name not in self._unready:
                self._unready.add(replica.name)
                self.lost.append(f"{replica.name} not ready ({replica.replica.http('/readyz')[1].strip()[:100]})")
                say(f"replica {replica.name} failed /readyz 3 times; taking it out of the Service")
                replica.replica.unpublish()

    def wait(self, seconds: float, done: Callable[[], bool] = lambda: False) -> bool:
        """Tend the replicas for up to `seconds`, or until `done()`; whether it was done."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.tend()
            if done():
                return True
            time.sleep(0.1)
        return done()


def kill_leader(replicas: Replicas, gaps: list[Gap], timeout: float) -> None:
    admin = replicas.bench.admin
    name = until(lambda: holder(admin), 30, "a leader")
    leader = next((o for o in replicas.live if o.name == name), None)
    if leader is None:
        raise RuntimeError(f"the Lease is held by {name}, which is not one of the running replicas")
    gap = Gap(name, time.time())
    leader.kill()
    replicas.take_out(leader)
    gaps.append(gap)
    say(f"killed the leader {name}; starting a replacement")
    replicas.start()

    def found() -> bool:
        for operator in replicas.live:
            stamp = elected(operator, gap.kill_at)
            if stamp is not None:
                gap.elected_at, gap.leader = stamp, operator.name
                return True
        return False

    if replicas.wait(timeout, found) and gap.elected_at is not None:
        say(f"{gap.leader} leads, {gap.elected_at - gap.kill_at:.1f}s after the kill")
    else:
        say(f"no new leader within {timeout:.0f}s of the kill")


def run(args: argparse.Namespace, bench: Bench, report: Report) -> int:
    lease = parse_duration(args.lease_duration).total_seconds()
    say(f"starting {args.replicas} replicas")
    replicas = Replicas(bench)
    for _ in range(args.replicas):
        replicas.start()
    team = sample_namespace(bench.admin, "team")
    world = World.seed(bench.clients, team, safe_spec(team, approvals=1))
    until(lambda: client.CustomObjectsApi(bench.admin).get_namespaced_custom_object(
        "strongroom.dev", "v1alpha1", world.vault, "safes", world.safe), 10, "the Safe")
    seen = Watches.of(bench.admin, team)
    driver = Driver(world, seen, args.window, settle=lease + 30)
    say(f"lifecycles running, {args.concurrency} in flight; {args.kills} kills, {args.interval:.0f}s after each "
        f"new leader")
    threads = driver.run(args.concurrency)
    gaps: list[Gap] = []
    try:
        for number in range(args.kills):
            replicas.wait(args.interval)
            say(f"kill {number + 1}/{args.kills} ({len(driver.done)} lifecycles so far)")
            kill_leader(replicas, gaps, timeout=lease * 3 + 30)
        replicas.wait(float("inf"), lambda: len(driver.done) + args.concurrency >= args.lifecycles)
    finally:
        driver.stop.set()
        say("letting the lifecycles in flight finish")
        deadline = time.monotonic() + args.window + lease + 90
        replicas.wait(max(0.0, deadline - time.monotonic()), lambda: not any(t.is_alive() for t in threads))
    seen.stop()
    return results(args, bench, report, driver, gaps=gaps, lease=lease, lost=replicas.lost)


def results(args: argparse.Namespace, bench: Bench, report: Report, driver: Driver, *, gaps: list[Gap],
            lease: float, lost: list[str]) -> int:
    done = list(driver.done)
    report.heading(f"bench.failover: {args.replicas} replicas, {len(gaps)} kills of the leader, {len(done)} "
                   f"lifecycles, lease {args.lease_duration}/{args.renew_deadline}/{args.retry_period}")
    failovers = [g.elected_at - g.kill_at for g in gaps if g.elected_at is not None]
    limit = lease + 2
    report.figure("kills", f"{len(gaps)} ({len(gaps) - len(failovers)} without a new leader in time)", f"{args.kills}",
                  len(failovers) == args.kills)
    report.figure("failover (kill to the new leader's first reconcile) p50", secs(percentile(failovers, 0.5)),
                  f"<= {limit:.0f} s (lease duration + 2 s)", at_most(percentile(failovers, 0.5), limit))
    report.figure("failover max", secs(max(failovers, default=None)), f"<= {limit:.0f} s",
                  at_most(max(failovers, default=None), limit))
    windows = [(g.kill_at, g.elected_at if g.elected_at is not None else float("inf")) for g in gaps]
    errors = [(d, d.deletion_error) for d in done if d.deletion_error is not None]
    in_gap = [abs(e) for d, e in errors if any(a <= (d.not_after or 0) <= b for a, b in windows)]
    report.figure("largest |Secret deleted - notAfter|, deadline in a leaderless gap",
                  f"{show_ms(max(in_gap, default=None))} ({len(in_gap)} deadlines fell in a gap)",
                  f"<= {limit * 1000:.0f} ms", at_most(max(in_gap, default=None), limit))
    every = [abs(e) for _, e in errors]
    report.figure("largest |Secret deleted - notAfter|, all", show_ms(max(every, default=None)),
                  f"<= {limit * 1000:.0f} ms", at_most(max(every, default=None), limit))
    refused_requests = sum(1 for d in done for r in d.refused if r.startswith("request"))
    refused_reviews = sum(1 for d in done for r in d.refused if r.startswith("review"))
    moments = len({int(d.finished or 0) for d in done if d.refused})
    report.figure("requests refused at admission", f"{refused_requests}", "0", refused_requests == 0)
    report.figure("reviews refused at admission", f"{refused_reviews} (refusals in {moments} distinct seconds)", "0",
                  refused_reviews == 0)
    items = list_raw(bench.admin, driver.world.team, "grants")
    sources = Counter(g["spec"].get("source", {}).get("uid") for g in items)
    duplicates = sum(1 for uid, n in sources.items() if uid and n > 1)
    report.figure("duplicate Grants", f"{duplicates}", "0", duplicates == 0)
    never = never_activated(bench, driver)
    report.figure("approved requests never activated", f"{len(never)}", "0", not never)
    unrecorded = unrecorded_deliveries(driver, items)
    report.figure("credentials delivered without secretWrittenAt", f"{len(unrecorded)}", "0", not unrecorded)
    report.figure("replicas that left the Service on their own (exited, or /readyz failing)",
                  f"{len(lost)}{': ' + '; '.join(lost) if lost else ''}", "0", not lost)
    report.figure("lifecycles", f"{len(done)}", f">= {args.lifecycles}", len(done) >= args.lifecycles)
    failed = [d for d in done if d.error and not d.refused]
    report.figure("lifecycles failed (other than refusals)", f"{len(failed)}", "0", not failed)
    to_secret = [d.to_secret for d in done if d.to_secret is not None]
    report.figure("approval->Secret p50", show_ms(percentile(to_secret, 0.5)))
    report.figure("approval->Secret p99", show_ms(percentile(to_secret, 0.99)),
                  "none (a deadline in a leaderless gap waits for the new leader)")
    report.summary()
    problems = refused_requests + refused_reviews + duplicates + len(never) + len(unrecorded) + len(failed) + len(lost)
    if problems:
        for name in never:
            say(f"approved, never activated: {name}")
        for name in unrecorded:
            say(f"delivered, secretWrittenAt never recorded: Grant {name}")
        print(f"error: {problems} problem(s) (above); the operators' logs are in {bench.logs}", file=sys.stderr)
        return 1
    return 0


def unrecorded_deliveries(driver: Driver, grants: list[dict[str, Any]]) -> list[str]:
    """Grants whose Secret was seen (admin's watch) while their status never recorded it being written:
    a credential readable while the record says access never started."""
    names = []
    for grant in grants:
        secret = driver.seen.secrets.get(grant["spec"].get("secretName", ""))
        if secret is not None and secret.added is not None and not (grant.get("status") or {}).get("secretWrittenAt"):
            names.append(grant["metadata"]["name"])
    return names


def never_activated(bench: Bench, driver: Driver) -> list[str]:
    """Requests bob approved whose Secret never appeared and whose status never says Active."""
    names = []
    objects = client.CustomObjectsApi(bench.admin)
    for done in driver.done:
        if not done.approved or done.activated:
            continue
        secret = driver.seen.secrets.get(secret_name_for(done.name))
        if secret is not None and secret.added is not None:
            continue
        try:
            status = objects.get_namespaced_custom_object("strongroom.dev", "v1alpha1", driver.world.team,
                                                          "accessrequests", done.name).get("status") or {}
        except ApiException:
            status = {}
        if not status.get("activatedAt"):
            names.append(done.name)
    return names


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.failover", description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", type=int, default=3, help="operator replicas (default 3)")
    parser.add_argument("--kills", type=int, default=10, help="how many times the leader is killed (default 10)")
    parser.add_argument("--lifecycles", type=int, default=200, help="at least this many lifecycles (default 200)")
    parser.add_argument("--concurrency", type=int, default=5, help="lifecycles in flight (default 5)")
    parser.add_argument("--window", type=int, default=3, help="the lifecycles' duration, seconds (default 3)")
    parser.add_argument("--interval", type=float, default=5.0,
                        help="seconds between a new leader and the next kill (default 5)")
    parser.add_argument("--lease-duration", default="15s", help="the replicas' --lease-duration (default 15s)")
    parser.add_argument("--renew-deadline", default="10s", help="the replicas' --renew-deadline (default 10s)")
    parser.add_argument("--retry-period", default="2s", help="the replicas' --retry-period (default 2s)")
    parser.add_argument("--keep-logs", type=Path, help="keep the replicas' logs in this directory")
    args = parser.parse_args(argv)
    if min(args.replicas, args.kills, args.lifecycles, args.concurrency, args.window) < 1 or args.replicas < 2:
        parser.error("every count and the window must be at least 1, and there must be at least 2 replicas")
    return run_bench(lambda bench, report: run(args, bench, report), keep=args.keep_logs,
                     operator_args=lease_args(args.lease_duration, args.renew_deadline, args.retry_period))


if __name__ == "__main__":
    sys.exit(main())
