"""The operator with many objects: quiet, restarted, under load, at a wave of expiries, and across an
API server restart.

    .venv/bin/python -m bench.scale [--finished N] [--pending M] [--active G] [--quiet SECONDS] ...

Starts its own control plane, installs Strongroom and starts one operator replica, kept running as
a kubelet would (a replica that exits on its own, e.g. deposed during an API server outage longer
than its renew deadline, is started again in its Pod, same token and ports, after a second). Then:

1. one lifecycle to warm up (its approval->Secret is shown: the first on a new vault), then L
   lifecycles on the empty cluster: approval->Secret, the reference for step 5;
2. builds, as admin, in parallel: N finished requests (rejected: their Safe is blocked), M pending
   ones (their Safe needs two approvals; approvalTimeout 24h) and G active grants (auto-approved,
   8h), and waits until the operator is done with them;
3. a quiet minute: the operator's CPU (% of one core, /proc), its API calls per second (its own
   strongroom_api_requests_total), the API server's requests per second (apiserver_request_total on
   its /metrics: every client together, the benchmark's scrapes included), RSS, log lines;
4. a restart: D grants whose notAfter passes while the operator is down (stopped with SIGTERM, which
   hands the Lease back, or with --restart-signal kill; started again as a new replica, a Pod of
   its own, once they are overdue), then the time from ready (/readyz 200) until every object is
   reconciled (the operator's API calls and CPU fall quiet) and until each overdue Secret is deleted;
5. L lifecycles on top of that load, against step 1;
6. E grants whose windows end within the same S seconds: |Secret deleted - notAfter|, none early;
7. a kube-apiserver restart (SIGTERM, SIGKILL after 1 s, started again with the arguments it ran
   with, read from /proc) while O Secrets fall due: from the API server answering again (an admin
   read succeeds) and from /readyz 200 to each deleted, and the operator's log lines per second
   while it did not answer. The outage is kept shorter than the renew deadline (10 s), so the leader
   keeps its Lease; --outage-hold lengthens it (the restart loop above then brings a deposed
   replica back, and the figures show it).

Every figure is printed as `figure: value (target: ...)`; targets are information. The exit status
is 1 for real errors (a lifecycle failed, a Secret never delivered, never deleted or deleted early),
2 when the benchmark could not run.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import ssl
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import urllib3
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from bench.common import (
    Bench,
    Lifecycle,
    Report,
    Watch,
    Watches,
    World,
    api_calls,
    at_most,
    cpu_seconds,
    create_many,
    holder,
    lifecycle,
    list_raw,
    log_between,
    log_lines,
    parse_time,
    percentile,
    ratio,
    rss_bytes,
    run_bench,
    run_lifecycles,
    safe_spec,
    sample_namespace,
    say,
    scrape,
    secs,
    times,
    until,
    wait_quiet,
    work_calls,
)
from bench.common import ms as show_ms
from strongroom.devcluster.controlplane import die_with_parent
from strongroom.devcluster.operator_process import LocalOperator
from strongroom.devcluster.users import OPERATOR_NAMESPACE
from strongroom.policy.delivery import EXPIRES_AT, secret_name_for

SETTLE = 60.0  # seconds a lifecycle's step may take beyond the window before it counts as failed
FIGURES = (
    "approval->Secret of the first lifecycle on a new vault (warm-up, not counted)",
    "approval->Secret p50, empty cluster", "approval->Secret p99, empty cluster", "objects built",
    "build: requests created/s (admin, through the webhook)", "build: grants delivered/s (behind the whole build)",
    "build: until the operator was done", "quiet minute: operator CPU", "quiet minute: operator API requests/s",
    "quiet minute: API server requests/s (all clients)", "quiet minute: operator RSS",
    "quiet minute: operator log lines per minute", "restart: operator stop (SIGTERM; SIGKILL after 15 s)",
    "restart: operator stopped to ready",
    "restart: start to ready (Pod, token, caches filled)", "restart: overdue Secrets",
    "restart: ready to all reconciled", "restart: overdue Secrets deleted after ready, max",
    "restart: overdue Secrets deleted after ready, p50", "approval->Secret p50 under load",
    "approval->Secret p99 under load", "approval->Secret p99 under load / empty", "expiring: grants",
    "expiring: |Secret deleted - notAfter| p50", "expiring: |Secret deleted - notAfter| p99",
    "expiring: |Secret deleted - notAfter| max", "expiring: |Secret deleted - notAfter| p99 by quarter of the span",
    "expiring: deleted before notAfter",
    "expiring: not deleted", "API server restart: outage (stopped to first answer)",
    "API server restart: outage (stopped to /readyz 200)", "API server restart: overdue Secrets",
    "API server restart: overdue deleted after the API server first answered, max",
    "API server restart: overdue deleted after the API server first answered, p50",
    "API server restart: overdue deleted after the API server ready (/readyz), max",
    "API server restart: overdue deleted after notAfter, max",
    "API server restart: operator log lines per second during the outage",
    "API server restart: operator log lines from the first answer to /readyz",
    "API server restart: operator restarts (deposed)", "lifecycles failed", "targets missed",
)


# -- the operator, kept running ---------------------------------------------------------------------


class Kubelet:
    """One replica kept running: `start` and `stop` it; one that exits on its own is started again in
    its Pod (its token and ports) a second later, as a kubelet restarts a container."""

    def __init__(self, bench: Bench) -> None:
        self.bench = bench
        self.current: LocalOperator | None = None
        self.restarts: list[float] = []  # wall clock
        self.off = threading.Event()  # set at the end: nothing is started again
        self._lock = threading.Lock()
        threading.Thread(target=self._watch, name="kubelet", daemon=True).start()

    @property
    def operator(self) -> LocalOperator:
        running = self.current
        if running is None:
            raise RuntimeError("no operator is running")
        return running

    def start(self, publish: bool = True) -> LocalOperator:
        running = self.bench.start_operator(publish=publish)
        with self._lock:
            self.current = running
        return running

    def stop(self, kill: bool = False) -> int | None:
        """Stop the replica (SIGTERM, SIGKILL after 15 s; with `kill`, SIGKILL at once) and delete its
        Pod: its exit status."""
        with self._lock:
            running, self.current = self.current, None
        if running is None:
            return None
        if not kill:
            return running.stop()
        running.kill()
        running.replica.unpublish()
        running.replica.remove()
        return running.process.returncode

    def _watch(self) -> None:
        while not self.off.wait(0.1):
            running = self.current
            if running is None or running.process.poll() is None:
                continue
            say(f"the operator exited ({running.process.returncode}); starting it again in its Pod in 1 s")
            time.sleep(1.0)
            with self._lock:
                if self.current is running and not self.off.is_set():
                    self.current = self._again(running)
                    self.restarts.append(time.time())

    def _again(self, running: LocalOperator) -> LocalOperator:
        # What operator_process.start runs, for the same replica (a container restart, not a new Pod).
        replica = running.replica
        command = [sys.executable, "-m", "strongroom", "operator", *replica.args(self.bench.local),
                   *self.bench.operator_args]
        env = {**os.environ, "POD_NAME": replica.name, "POD_NAMESPACE": OPERATOR_NAMESPACE}
        with running.log.open("ab") as out:
            process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env,
                                       preexec_fn=die_with_parent)  # noqa: PLW1509
        again = LocalOperator(replica, process, running.log)
        self.bench.operators.append(again)
        return again


def busy_until(kubelet: Kubelet, quiet: float, timeout: float, busy_cpu: float = 0.10) -> float:
    """Wall-clock time of the operator's last sign of work (an API call, leases aside, or more than
    `busy_cpu` of a core over a 0.25 s sample), once it has shown none for `quiet` seconds."""
    started = time.monotonic()
    busy, last_calls, last_cpu, last_at = time.time(), -1, -1.0, time.monotonic()
    while True:
        time.sleep(0.25)
        now, mono = time.time(), time.monotonic()
        try:
            running = kubelet.operator
            calls, cpu = work_calls(api_calls(scrape(running))), cpu_seconds(running.process.pid)
        except (RuntimeError, OSError):
            busy = now
            continue
        if calls != last_calls or (last_cpu >= 0 and (cpu - last_cpu) / (mono - last_at) > busy_cpu):
            busy = now
        last_calls, last_cpu, last_at = calls, cpu, mono
        if now - busy >= quiet:
            return busy
        if mono - started > timeout:
            raise TimeoutError(f"the operator was still busy after {timeout:.0f}s")


# -- the API server ------------------------------------------------------------------------------------


def apiserver_requests(admin: client.ApiClient) -> float:
    """The API server's apiserver_request_total, every series together (`kubectl get --raw /metrics`)."""
    verb, url, headers, body, _ = admin.param_serialize("GET", "/metrics", header_params={"Accept": "text/plain"},
                                                        auth_settings=["BearerToken"])
    text = admin.call_api(verb, url, headers, body, _request_timeout=30).read().decode()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("apiserver_request_total{"))


def apiserver_ready(bench: Bench) -> bool:
    context = ssl.create_default_context(cafile=str(bench.local.pki_dir / "ca.crt"))
    try:
        with urllib.request.urlopen(f"{bench.state.server}/readyz", timeout=1, context=context) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


def apiserver_answers(bench: Bench) -> bool:
    """Whether the API server answers an authenticated, authorized read (admin's, as the operator's are)."""
    try:
        client.CoreV1Api(bench.admin).read_namespace("default", _request_timeout=1, _preload_content=False)
    except (ApiException, OSError, urllib3.exceptions.HTTPError):
        return False
    return True


def restart_apiserver(bench: Bench, hold: float) -> tuple[float, float, float]:
    """Stop kube-apiserver (SIGTERM, SIGKILL after 1 s), keep it down `hold` seconds more, start it
    again with the arguments it ran with; (stopped at, first answered at, ready at), wall clock."""
    pid = bench.state.pids["kube-apiserver"]
    for process in bench.extra_processes:  # restarted before: that one runs now
        if process.poll() is None:
            pid = process.pid
    command = [part.decode() for part in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0") if part]
    stopped = time.time()
    os.kill(pid, signal.SIGTERM)
    if not _gone(pid, 1.0):
        os.kill(pid, signal.SIGKILL)
        _gone(pid, 10.0)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # not our child (LocalCluster started it), but reap it if it is
    time.sleep(hold)
    with (bench.logs / "kube-apiserver-restarted.log").open("ab") as log:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True, preexec_fn=die_with_parent)  # noqa: PLW1509
    bench.extra_processes.append(process)
    deadline, answered = time.monotonic() + 120, None
    while True:
        if answered is None and apiserver_answers(bench):
            answered = time.time()
        if answered is not None and apiserver_ready(bench):
            return stopped, answered, time.time()
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"kube-apiserver did not come back; see {bench.logs / 'kube-apiserver-restarted.log'}")
        time.sleep(0.02)


def _gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return True
        if state == "Z":
            return True
        time.sleep(0.02)
    return False


# -- objects ----------------------------------------------------------------------------------------


def phases(admin: client.ApiClient, namespace: str) -> Counter[str]:
    return Counter(str((r.get("status") or {}).get("phase", "(none)")) for r in list_raw(admin, namespace,
                                                                                        "accessrequests"))


def request_maker(world: World, prefix: str, *, duration: str | None = None,
                  window: Callable[[int], tuple[datetime, datetime]] | None = None) -> Callable[[int], str]:
    def make(number: int) -> str:
        name = f"{prefix}-{number:05d}"
        try:
            world.request("admin", name=name, duration=duration, window=window(number) if window else None)
        except ApiException as error:
            if error.status != 409:  # created by an earlier try whose answer was lost
                raise
        return name
    return make


@dataclass
class Due:
    """Grants that fall due together: their Secrets' names and notAfter (wall clock)."""

    secrets: list[str] = field(default_factory=list)
    not_after: dict[str, float] = field(default_factory=dict)
    rate: float = 0.0  # delivered per second, from the first create


def grants_due(world: World, secrets_seen: Watch, prefix: str, *, count: int, ends: Callable[[int], datetime],
               timeout: float, threads: int) -> Due:
    """`count` auto-approved requests whose windows end at `ends(i)`, created and delivered."""
    start = datetime.now(UTC) - timedelta(seconds=1)
    began = time.time()
    names = create_many(request_maker(world, prefix, window=lambda i: (start, ends(i))), count, threads,
                        f"{prefix} requests")
    due = Due([secret_name_for(n) for n in names])
    missing = secrets_seen.wait_all(due.secrets, lambda s: s.added is not None, timeout)
    if missing:
        say(f"{len(missing)} {prefix} Secrets were not delivered within {timeout:.0f}s")
    for name in due.secrets:
        seen = secrets_seen.get(name)
        if seen is not None:
            due.not_after[name] = parse_time(seen.obj["metadata"]["annotations"][EXPIRES_AT])
    last = max((s.added for n in due.secrets if (s := secrets_seen.get(n)) and s.added), default=None)
    due.rate = len(due.not_after) / max(0.1, last - began) if last else 0.0
    return due


def deleted_after(secrets_seen: Watch, due: Due, since: dict[str, float] | float) -> dict[str, float]:
    """For each Secret of `due` that was deleted: its deletion minus `since` (per Secret, or one time)."""
    found = {}
    for name in due.secrets:
        seen = secrets_seen.get(name)
        if seen is not None and seen.deleted is not None:
            origin = since[name] if isinstance(since, dict) else since
            found[name] = seen.deleted - origin
    return found


# -- the run ----------------------------------------------------------------------------------------


@dataclass
class Run:
    args: argparse.Namespace
    bench: Bench
    report: Report
    kubelet: Kubelet
    team: str
    secrets_seen: Watch
    errors: list[str] = field(default_factory=list)
    delivered_rate: float = 50.0  # grants delivered per second, measured while building
    failed_lifecycles: int = 0

    @property
    def admin(self) -> client.ApiClient:
        return self.bench.admin

    def lifecycles(self, world: World, label: str) -> list[Lifecycle]:
        seen = Watches(Watch(self.admin, self.team, "accessrequests", existing=False), self.secrets_seen)
        try:
            done = run_lifecycles(world, seen, self.args.lifecycles, concurrency=self.args.concurrency,
                                  window=self.args.window, settle=SETTLE, label=label)
        finally:
            seen.requests.stop()
        self.errors += [f"{label}: {d.error}" for d in done if d.error]
        self.failed_lifecycles += sum(1 for d in done if d.error)
        return done

    def lead(self, count: int) -> float:
        """Seconds to create and deliver `count` grants, generously."""
        return 8 + 1.5 * count / self.delivered_rate


def empty_lifecycles(run: Run, world: World) -> tuple[float | None, float | None]:
    say("one lifecycle to warm up (not counted), then "
        f"{run.args.lifecycles} lifecycles on the empty cluster")
    seen = Watches(Watch(run.admin, run.team, "accessrequests", existing=False), run.secrets_seen)
    try:
        warm = lifecycle(world, seen, run.args.window, SETTLE)
    finally:
        seen.requests.stop()
    run.report.figure("approval->Secret of the first lifecycle on a new vault (warm-up, not counted)",
                      show_ms(warm.to_secret) if warm.ok else f"failed: {warm.error}")
    done = run.lifecycles(world, "empty cluster")
    to_secret = [d.to_secret for d in done if d.to_secret is not None]
    p50, p99 = percentile(to_secret, 0.5), percentile(to_secret, 0.99)
    run.report.figure("approval->Secret p50, empty cluster", show_ms(p50))
    run.report.figure("approval->Secret p99, empty cluster", show_ms(p99))
    return p50, p99


def build(run: Run) -> None:
    args, report, team, clients = run.args, run.report, run.team, run.bench.clients
    rejecting = safe_spec(team, approvals=1, member_users=("admin",))
    rejecting |= {"blocked": True, "blockedReason": "benchmark: every request is rejected"}
    finished = World.seed(clients, team, rejecting)
    pending = World.seed(clients, team, safe_spec(team, approvals=2, member_users=("admin",), approvalTimeout="24h"))
    active = World.seed(clients, team, safe_spec(team, approvals=0, member_users=("admin",)))
    started = time.monotonic()
    say(f"building {args.finished} finished requests, {args.pending} pending, {args.active} active grants "
        f"({args.threads} threads, as admin)")
    create_many(request_maker(finished, "finished", duration="1h"), args.finished, args.threads, "finished requests")
    create_many(request_maker(pending, "pending", duration="1h"), args.pending, args.threads, "pending requests")
    created = args.finished + args.pending
    actives_from = time.time()
    names = create_many(request_maker(active, "active", duration="8h"), args.active, args.threads, "active grants")
    created_in = time.monotonic() - started
    secrets = [secret_name_for(n) for n in names]
    missing = run.secrets_seen.wait_all(secrets, lambda s: s.added is not None, 60 + args.active / 5)
    if missing:
        run.errors.append(f"{len(missing)} active grants were never delivered")
    last = max((s.added for n in secrets if (s := run.secrets_seen.get(n)) and s.added), default=time.time())
    run.delivered_rate = max(1.0, args.active / max(0.1, last - actives_from))
    wait_quiet(run.kubelet.operator, quiet=5, timeout=1800, what="the operator (building)")
    built_in = time.monotonic() - started
    counted = phases(run.admin, team)
    report.figure("objects built", f"{counted.get('Rejected', 0)} rejected, {counted.get('Pending', 0)} pending, "
                  f"{counted.get('Active', 0)} active requests ({sum(counted.values())} in all)",
                  f"{args.finished} rejected, {args.pending} pending, {args.active} active")
    report.figure("build: requests created/s (admin, through the webhook)",
                  f"{(created + args.active) / created_in:.0f}")
    report.figure("build: grants delivered/s (behind the whole build)", f"{run.delivered_rate:.1f}")
    report.figure("build: until the operator was done", secs(built_in))


def quiet_minute(run: Run) -> None:
    args, report = run.args, run.report
    operator = run.kubelet.operator
    wait_quiet(operator, quiet=5, timeout=600, what="the operator (before the quiet minute)")
    say(f"quiet minute: measuring for {args.quiet:.0f}s")
    pid = operator.process.pid
    cpu0, calls0, lines0 = cpu_seconds(pid), api_calls(scrape(operator)), log_lines(operator.log)
    served0, started = apiserver_requests(run.admin), time.monotonic()
    time.sleep(args.quiet)
    cpu1, calls1, lines1 = cpu_seconds(pid), api_calls(scrape(operator)), log_lines(operator.log)
    served1, took = apiserver_requests(run.admin), time.monotonic() - started
    rss = rss_bytes(pid)
    cpu = (cpu1 - cpu0) / took * 100
    report.figure("quiet minute: operator CPU", f"{cpu:.1f} % of one core", "<= 5 %", cpu <= 5)
    rate = (sum(calls1.values()) - sum(calls0.values())) / took
    background = sum(n for (_, r), n in (calls1 - calls0).items() if r == "leases") / took
    report.figure("quiet minute: operator API requests/s", f"{rate:.2f} ({background:.2f}/s of them on Leases)",
                  "<= 5/s", rate <= 5)
    report.figure("quiet minute: API server requests/s (all clients)", f"{(served1 - served0) / took:.2f}")
    report.figure("quiet minute: operator RSS", f"{rss / 2**20:.0f} MB", "<= 200 MB", rss <= 200 * 2**20)
    per_minute = (lines1 - lines0) / took * 60
    report.figure("quiet minute: operator log lines per minute", f"{per_minute:.1f}", "0", lines1 == lines0)


def restart(run: Run, world: World) -> None:
    args, report = run.args, run.report
    lead = run.lead(args.overdue)
    say(f"restart: {args.overdue} grants due in {lead:.0f}s, the operator stopped before then")
    due_at = datetime.now(UTC) + timedelta(seconds=lead)
    due = grants_due(world, run.secrets_seen, "overdue", count=args.overdue,
                     ends=lambda i: due_at + timedelta(milliseconds=10 * i), timeout=lead, threads=args.threads)
    # The delivery rate of a small batch on top of everything (the build's counts its backlog too).
    run.delivered_rate = max(run.delivered_rate, due.rate / 2)
    stopped = time.time()
    code = run.kubelet.stop(kill=args.restart_signal == "kill")
    stop_took = time.time() - stopped
    handed_back = not holder(run.admin)
    overdue_from = max(due.not_after.values(), default=time.time())
    wait = overdue_from + 0.5 - time.time()
    if wait > 0:
        time.sleep(wait)
    say("restart: starting the operator again")
    began = time.time()
    operator = run.kubelet.start(publish=False)
    ready = time.time()
    operator.replica.publish()
    down_from = stopped + stop_took

    def overdue_while_down(name: str) -> bool:
        seen = run.secrets_seen.get(name)
        gone_before = seen is not None and seen.deleted is not None and seen.deleted <= down_from
        return due.not_after.get(name, ready) < ready and not gone_before

    overdue = [name for name in due.secrets if overdue_while_down(name)]
    late = set(due.not_after) - set(overdue)
    still = run.secrets_seen.wait_all(overdue, lambda s: s.deleted is not None, 60)
    reconciled = busy_until(run.kubelet, quiet=5, timeout=600)
    after_ready = deleted_after(run.secrets_seen, Due(overdue), ready)
    if args.restart_signal == "kill":
        report.figure("restart: operator stop (SIGTERM; SIGKILL after 15 s)",
                      f"SIGKILL (--restart-signal kill), Lease handed back: {'yes' if handed_back else 'no'}")
    else:
        report.figure("restart: operator stop (SIGTERM; SIGKILL after 15 s)",
                      f"{stop_took:.2f} s, exit status {code}, Lease handed back: {'yes' if handed_back else 'no'}",
                      "exit 0, Lease handed back", code == 0 and handed_back)
    report.figure("restart: operator stopped to ready", secs(ready - stopped))
    report.figure("restart: start to ready (Pod, token, caches filled)", secs(ready - began))
    report.figure("restart: overdue Secrets", f"{len(overdue)} ({len(still)} not deleted within 60 s; "
                  f"{len(late)} not overdue while the operator was down)", f"{args.overdue}, all deleted",
                  not still and not late)
    report.figure("restart: ready to all reconciled", secs(max(0.0, reconciled - ready)), "<= 60 s",
                  reconciled - ready <= 60)
    worst = max(after_ready.values(), default=None)
    report.figure("restart: overdue Secrets deleted after ready, max", show_ms(worst),
                  "<= 1000 ms; negative: before /readyz said ready", at_most(worst, 1.0))
    report.figure("restart: overdue Secrets deleted after ready, p50", show_ms(percentile(list(after_ready.values()),
                                                                                          0.5)))
    if still:
        run.errors.append(f"restart: {len(still)} overdue Secrets were not deleted")


def loaded_lifecycles(run: Run, world: World, empty: tuple[float | None, float | None]) -> None:
    say(f"{run.args.lifecycles} lifecycles on top of the load")
    done = run.lifecycles(world, "under load")
    to_secret = [d.to_secret for d in done if d.to_secret is not None]
    p50, p99 = percentile(to_secret, 0.5), percentile(to_secret, 0.99)
    run.report.figure("approval->Secret p50 under load", show_ms(p50), f"none (empty: {show_ms(empty[0])})")
    run.report.figure("approval->Secret p99 under load", show_ms(p99), f"<= 1.5x empty ({show_ms(empty[1])})",
                      at_most(ratio(p99, empty[1]), 1.5))
    run.report.figure("approval->Secret p99 under load / empty", times(ratio(p99, empty[1])), "<= 1.5x",
                      at_most(ratio(p99, empty[1]), 1.5))


def expiring(run: Run, world: World) -> None:
    args, report = run.args, run.report
    lead = run.lead(args.expiring)
    first = datetime.now(UTC) + timedelta(seconds=lead)
    say(f"expiring: {args.expiring} grants ending within {args.span:.0f}s from {lead:.0f}s on")
    due = grants_due(world, run.secrets_seen, "expiring", count=args.expiring,
                     ends=lambda i: first + timedelta(seconds=args.span * i / args.expiring), timeout=lead,
                     threads=args.threads)
    late_delivery = sum(1 for name in due.secrets
                        if (s := run.secrets_seen.get(name)) and s.added and s.added > due.not_after.get(name, 0))
    wait = first.timestamp() + args.span - time.time()
    if wait > 0:
        say(f"expiring: waiting {wait:.0f}s for the windows to end")
        time.sleep(wait)
    still = run.secrets_seen.wait_all(due.secrets, lambda s: s.deleted is not None, 60)
    errors = deleted_after(run.secrets_seen, due, due.not_after)
    lateness = [abs(e) for e in errors.values()]
    early = sum(1 for e in errors.values() if e < 0)
    report.figure("expiring: grants", f"{len(due.not_after)} delivered of {args.expiring}, windows ending within "
                  f"{args.span:.0f}s ({late_delivery} delivered only after their notAfter)")
    report.figure("expiring: |Secret deleted - notAfter| p50", show_ms(percentile(lateness, 0.5)))
    report.figure("expiring: |Secret deleted - notAfter| p99", show_ms(percentile(lateness, 0.99)), "<= 1000 ms",
                  at_most(percentile(lateness, 0.99), 1.0))
    report.figure("expiring: |Secret deleted - notAfter| max", show_ms(max(lateness, default=None)))
    quarters = []
    for quarter in range(4):
        begin, end = (first.timestamp() + args.span * q / 4 for q in (quarter, quarter + 1))
        part = [abs(e) for n, e in errors.items() if begin <= due.not_after[n] < end + (quarter == 3)]
        quarters.append(show_ms(percentile(part, 0.99)))
    report.figure("expiring: |Secret deleted - notAfter| p99 by quarter of the span", ", ".join(quarters))
    report.figure("expiring: deleted before notAfter", f"{early}", "0", early == 0)
    report.figure("expiring: not deleted", f"{len(still)}", "0", not still)
    if early or still:
        run.errors.append(f"expiring: {early} deleted early, {len(still)} not deleted")


def apiserver_outage(run: Run, world: World) -> None:
    args, report = run.args, run.report
    lead = run.lead(args.outage_grants)
    due_at = datetime.now(UTC) + timedelta(seconds=lead)
    say(f"API server restart: {args.outage_grants} grants due in {lead:.0f}s, the API server stopped just before")
    due = grants_due(world, run.secrets_seen, "outage", count=args.outage_grants,
                     ends=lambda i: due_at + timedelta(milliseconds=500 * i / args.outage_grants), timeout=lead,
                     threads=args.threads)
    first_due = min(due.not_after.values(), default=time.time())
    wait = first_due - args.outage_lead - time.time()
    if wait > 0:
        time.sleep(wait)
    operator = run.kubelet.operator
    restarts0 = len(run.kubelet.restarts)
    say("API server restart: stopping kube-apiserver")
    stopped, answered, ready = restart_apiserver(run.bench, args.outage_hold)
    say(f"API server restart: answering after {answered - stopped:.1f}s, ready after {ready - stopped:.1f}s")
    overdue = [name for name in due.secrets if due.not_after.get(name, answered) < answered]
    still = run.secrets_seen.wait_all(overdue, lambda s: s.deleted is not None, 60)
    after_answer = deleted_after(run.secrets_seen, Due(overdue), answered)
    after_ready = deleted_after(run.secrets_seen, Due(overdue), ready)
    report.figure("API server restart: outage (stopped to first answer)", secs(answered - stopped),
                  "none (the renew deadline is 10 s)")
    report.figure("API server restart: outage (stopped to /readyz 200)", secs(ready - stopped))
    report.figure("API server restart: overdue Secrets", f"{len(overdue)} of {args.outage_grants} "
                  f"({len(still)} not deleted within 60 s)", f"{args.outage_grants}, all deleted",
                  len(overdue) == args.outage_grants and not still)
    worst = max(after_answer.values(), default=None)
    report.figure("API server restart: overdue deleted after the API server first answered, max", show_ms(worst),
                  "<= 2000 ms", at_most(worst, 2.0))
    report.figure("API server restart: overdue deleted after the API server first answered, p50",
                  show_ms(percentile(list(after_answer.values()), 0.5)))
    worst = max(after_ready.values(), default=None)
    report.figure("API server restart: overdue deleted after the API server ready (/readyz), max", show_ms(worst),
                  "<= 2000 ms; negative: before /readyz said ready", at_most(worst, 2.0))
    overdue_by = deleted_after(run.secrets_seen, Due(overdue), due.not_after)
    report.figure("API server restart: overdue deleted after notAfter, max",
                  show_ms(max(overdue_by.values(), default=None)))
    # The outage: from the stop until the API server answers again (then the operator's lines are work).
    during = log_between(operator.log, stopped, answered)
    per_second = sum(during.values()) / max(0.001, answered - stopped)
    report.figure("API server restart: operator log lines per second during the outage",
                  f"{per_second:.1f} ({sum(during.values())} lines: {by_logger(during)})", "<= 1/s", per_second <= 1)
    after = log_between(operator.log, answered, ready)
    report.figure("API server restart: operator log lines from the first answer to /readyz",
                  f"{sum(after.values())} ({by_logger(after)})")
    report.figure("API server restart: operator restarts (deposed)", f"{len(run.kubelet.restarts) - restarts0}")
    if still:
        run.errors.append(f"API server restart: {len(still)} overdue Secrets were not deleted")


def by_logger(lines: Counter[str]) -> str:
    return ", ".join(f"{n} {logger}" for logger, n in lines.most_common()) or "none"


def run_all(args: argparse.Namespace, bench: Bench, report: Report) -> int:
    kubelet = Kubelet(bench)
    say("starting the operator")
    kubelet.start()
    team = sample_namespace(bench.admin, "team")
    run = Run(args, bench, report, kubelet, team, Watch(bench.admin, team, "secrets", "app.kubernetes.io/managed-by="
                                                        "strongroom"))
    lifecycles = World.seed(bench.clients, team, safe_spec(team, approvals=1))
    grants = World.seed(bench.clients, team, safe_spec(team, approvals=0, member_users=("admin",)))
    until(lambda: client.CustomObjectsApi(bench.admin).get_namespaced_custom_object(
        "strongroom.dev", "v1alpha1", grants.vault, "safes", grants.safe), 10, "the Safes")
    report.heading(f"bench.scale: {args.finished} finished, {args.pending} pending, {args.active} active; "
                   f"{args.lifecycles} lifecycles of {args.window}s, {args.concurrency} in flight")
    try:
        empty = empty_lifecycles(run, lifecycles)
        build(run)
        quiet_minute(run)
        restart(run, grants)
        loaded_lifecycles(run, lifecycles, empty)
        expiring(run, grants)
        apiserver_outage(run, grants)
    finally:
        kubelet.off.set()
    report.figure("lifecycles failed", f"{run.failed_lifecycles}", "0", run.failed_lifecycles == 0)
    report.summary()
    run.secrets_seen.stop()
    for error in run.errors:
        say(f"error: {error}")
    if run.errors:
        print(f"error: {len(run.errors)} error(s) (above); the operator's log is in {bench.logs}", file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__.splitlines()[0])
    parser.add_argument("--finished", type=int, default=10000, help="finished (rejected) requests (default 10000)")
    parser.add_argument("--pending", type=int, default=1000, help="pending requests (default 1000)")
    parser.add_argument("--active", type=int, default=1000, help="active grants (default 1000)")
    parser.add_argument("--threads", type=int, default=16, help="parallel creates while building (default 16)")
    parser.add_argument("--quiet", type=float, default=60, help="seconds of the quiet measurement (default 60)")
    parser.add_argument("--restart-signal", choices=("term", "kill"), default="term",
                        help="how the operator is stopped for the restart: SIGTERM (it hands the Lease back) or "
                        "SIGKILL (the new replica waits out the Lease) (default term)")
    parser.add_argument("--lifecycles", type=int, default=30, help="lifecycles, empty and under load (default 30)")
    parser.add_argument("--concurrency", type=int, default=5, help="lifecycles in flight (default 5)")
    parser.add_argument("--window", type=int, default=3, help="the lifecycles' duration, seconds (default 3)")
    parser.add_argument("--overdue", type=int, default=20,
                        help="grants falling due while the operator is down (default 20)")
    parser.add_argument("--expiring", type=int, default=1000, help="grants whose windows end together (default 1000)")
    parser.add_argument("--span", type=float, default=20, help="seconds within which they end (default 20)")
    parser.add_argument("--outage-grants", type=int, default=20,
                        help="grants falling due while the API server is down (default 20)")
    parser.add_argument("--outage-lead", type=float, default=1.0,
                        help="stop the API server this many seconds before they fall due (default 1)")
    parser.add_argument("--outage-hold", type=float, default=0.0,
                        help="keep the API server down this many seconds more (default 0)")
    parser.add_argument("--keep-logs", type=Path, help="keep the operator's (and a restarted API server's) logs here")
    args = parser.parse_args(argv)
    counts = (args.finished, args.pending, args.active, args.lifecycles, args.overdue, args.expiring,
              args.outage_grants)
    if min(counts) < 1 or args.concurrency < 1 or args.window < 1 or args.quiet <= 0 or args.span <= 0:
        parser.error("every count, the window, --quiet and --span must be positive")
    return run_bench(lambda bench, report: run_all(args, bench, report), keep=args.keep_logs)


if __name__ == "__main__":
    sys.exit(main())
