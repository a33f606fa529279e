"""Request, approval, Secret, deletion: timed end to end against a real local control plane.

    .venv/bin/python -m bench.lifecycle [--lifecycles N] [--concurrency K] [--window SECONDS]

Starts its own control plane in a temporary directory and installs Strongroom (CRDs, admission
policies, the webhook configuration). Without the operator, as admin, it measures the same work
(N Secrets created, read back, kept for the window and deleted, K at a time). Then it starts one
operator replica and:

1. an accounting pass (also the warm-up): A lifecycles brought to access together, the operator's
   API calls counted (its own strongroom_api_requests_total, leases aside) once it is quiet; then
   they expire and the calls are counted again. Per lifecycle, by verb and resource;
2. a plain Secret create round trip as admin (R in a row), the API server's own speed;
3. N lifecycles, K in flight: alice files a request, the operator marks it Pending, bob approves
   (a status patch through the webhook), the Secret appears (admin's watch) and alice reads it, it
   goes at notAfter. The operator's CPU time (/proc/<pid>/stat) and API calls over the run;
4. the approving write beside a plain one, one at a time (0.2 s apart) on P requests of a Safe that
   needs one approval: carol approves each through the webhook (it stamps and seals her review, the
   operator issues the Grant); then, with the webhook configuration removed, bob adds the same
   review patch to each: the same JSON patch on the same subresource by a user of the same rights,
   the admission policies still in force; only the webhook call is missing. The webhook
   configuration is put back afterwards. (The approving writes of step 3, K in flight, are shown
   too, for information.)

Every figure is printed as `figure: value (target: ...)`; targets are information. The exit status
is 1 only for real errors (a refused call, a Secret never delivered or never deleted), 2 when the
benchmark could not run.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from bench.common import (
    BACKGROUND,
    Bench,
    Lifecycle,
    Report,
    Watches,
    World,
    api_calls,
    at_most,
    cpu_seconds,
    percentile,
    phase_of,
    ratio,
    run_bench,
    run_lifecycles,
    safe_spec,
    sample_namespace,
    say,
    scrape,
    secret_create_rtt,
    status_of,
    times,
    to_access,
    to_expiry,
    until,
    wait_quiet,
    why,
    work_calls,
)
from bench.common import ms as show_ms
from strongroom.devcluster.install import reinstall_webhooks, remove_configuration
from strongroom.devcluster.operator_process import LocalOperator

SETTLE = 30.0  # seconds a step may take beyond the window before the lifecycle counts as failed
PAUSE = 0.2  # seconds between the writes timed one at a time
FIGURES = (
    "approval->Secret p50", "approval->Secret p99", "approval->readable by alice p50",
    "approval->readable by alice p99", "Secret create RTT p50 (admin, API server alone)",
    "approval->Secret p50 / Secret create RTT p50", "|Secret deleted - notAfter| p50",
    "|Secret deleted - notAfter| p99",
    "Secrets deleted before notAfter", "lifecycles/s", "same Secrets without the operator (created, kept, deleted)/s",
    "lifecycles/s / without the operator", "API calls per lifecycle up to access",
    "API calls per lifecycle through expiry", "API calls per lifecycle through expiry (main run)",
    "leader election and heartbeat calls over the main run (not counted above)", "operator CPU-seconds per lifecycle",
    "approving write p50, one at a time (carol's approval through the webhook)", "approving write p99, one at a time",
    "plain status patch p50, one at a time (the same review patch, webhook configuration removed)",
    "plain status patch p99, one at a time", "approving write / plain status patch, p50",
    "approving write / plain status patch, p99", "approving write p50 in the lifecycles (bob's approval, K in flight)",
    "approving write p99 in the lifecycles",
    "lifecycles completed", "lifecycles failed", "targets missed",
)


# -- without the operator ---------------------------------------------------------------------------


def bare_bound(admin: client.ApiClient, pairs: int, concurrency: int, hold: float) -> float:
    """Secrets created, read back, kept `hold` seconds and deleted, per second, K at a time, straight to
    the API server as admin: the lifecycles' own work on Secrets, without the operator."""
    core = client.CoreV1Api(admin)
    namespace = sample_namespace(admin, "bench-bare")
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


# -- the accounting pass ----------------------------------------------------------------------------


Calls = Counter[tuple[str, str]]


def accounting(operator: LocalOperator, world: World, seen: Watches, *, count: int, concurrency: int,
               settle: float = SETTLE) -> tuple[Calls, Calls, list[Lifecycle], str]:
    """`count` lifecycles brought to access together, then left to expire: the operator's API calls
    (by verb and resource) up to access and through expiry, the lifecycles, and a note ("" when the
    two phases were cleanly apart)."""
    # Long enough a window that every request reaches access and the operator falls quiet before
    # the first Secret goes.
    window = math.ceil(8 + 1.5 * count / concurrency)
    wait_quiet(operator, what="the operator (before the accounting pass)")
    before = api_calls(scrape(operator))
    say(f"accounting pass: {count} lifecycles to access, {window}s windows")
    with ThreadPoolExecutor(concurrency) as pool:
        reached = list(pool.map(lambda _: to_access(world, seen, window, settle), range(count)))
    wait_quiet(operator, what="the operator (after access)")
    at_access = api_calls(scrape(operator))
    first_gone = min((s.deleted for s in seen.secrets.seen.values() if s.deleted), default=None)
    note = ""
    if first_gone is not None and first_gone < time.time():
        note = "a Secret went before the count at access: the two phases overlap"
    say("accounting pass: waiting for the Secrets to go")
    done = [to_expiry(world, seen, lc, window, settle) for lc in reached]
    wait_quiet(operator, what="the operator (after expiry)")
    after = api_calls(scrape(operator))
    for failed in (d for d in done if d.error):
        say(f"accounting pass: FAILED {failed.name}: {failed.error}")
        if failed.name:
            world.delete_request(failed.name)
    return at_access - before, after - before, done, note


# -- the approving write beside a plain one ---------------------------------------------------------


def timed_reviews(world: World, seen: Watches, reviewer: str, names: Sequence[str], pause: float
                  ) -> tuple[list[float], int, list[str]]:
    """`reviewer` adds a review to each request, one at a time, `pause` seconds apart (so that the
    operator's answer to one is not under way during the next): (latencies, how many came back stamped
    by the webhook, errors)."""
    taken: list[float] = []
    stamped = 0
    errors: list[str] = []
    for name in names:
        current = seen.requests.get(name)
        started = time.monotonic()
        try:
            answer = world.review(reviewer, name, status_of(current) if current else None, full=True)
        except ApiException as error:
            errors.append(f"{reviewer} reviewing {name}: {why(error)}")
            continue
        taken.append(time.monotonic() - started)
        mine = [r for r in (answer.get("status") or {}).get("reviews") or [] if r.get("user") == reviewer]
        stamped += bool(mine and mine[-1].get("signature"))
        time.sleep(pause)
    return taken, stamped, errors


def write_latencies(bench: Bench, operator: LocalOperator, team: str, seen: Watches, *, count: int,
                    settle: float = SETTLE) -> tuple[list[float], list[float], list[str]]:
    """(approving writes through the webhook, the same review patch with the webhook configuration
    removed, errors), one at a time on `count` requests of a Safe that needs one approval: carol
    approves each (the webhook stamps and seals her review; the operator then issues the Grant), then
    bob adds the same review patch to each with no webhook in the way (the admission policies still
    check it; the operator honours no unsealed review)."""
    world = World.seed(bench.clients, team, safe_spec(team, approvals=1, approvers=("bob", "carol", "erin")))
    until(lambda: client.CustomObjectsApi(bench.admin).get_namespaced_custom_object(
        "strongroom.dev", "v1alpha1", world.vault, "safes", world.safe), 10, "the Safe")
    names = [world.request("alice", duration="1h")["metadata"]["name"] for _ in range(count)]
    missing = seen.requests.wait_all(names, lambda s: phase_of(s) == "Pending", settle)
    names = [n for n in names if n not in missing]
    errors = [f"{n}: not marked Pending" for n in missing]
    wait_quiet(operator, what="the operator (before the approving writes)")
    approving, stamped, failed = timed_reviews(world, seen, "carol", names, PAUSE)
    errors += failed + ([f"{len(approving) - stamped} approving writes were not stamped"]
                        if stamped < len(approving) else [])
    wait_quiet(operator, what="the operator (after the approving writes)")
    say("removing the webhook configuration for the plain patches")
    remove_configuration(bench.admin)
    time.sleep(2.0)  # the API server's view of webhook configurations follows a watch: give it a moment
    plain, stamped, failed = timed_reviews(world, seen, "bob", names, PAUSE)
    errors += failed + ([f"{stamped} of the plain patches were still stamped by the webhook"] if stamped else [])
    say("putting the webhook configuration back")
    reinstall_webhooks(bench.admin)
    return approving, plain, errors


# -- the run ----------------------------------------------------------------------------------------


@dataclass
class Measured:
    bare: float = 0.0  # the same Secrets per second without the operator
    to_access_calls: Counter[tuple[str, str]] = field(default_factory=Counter)  # accounting pass
    through_calls: Counter[tuple[str, str]] = field(default_factory=Counter)
    counted: list[Lifecycle] = field(default_factory=list)  # the accounting pass's lifecycles
    note: str = ""  # why the accounting pass's figures are not clean
    rtt: list[float] = field(default_factory=list)  # plain Secret creates
    done: list[Lifecycle] = field(default_factory=list)  # the timed run
    cpu: float = 0.0  # operator CPU-seconds over the timed run
    main_calls: Counter[tuple[str, str]] = field(default_factory=Counter)  # over the timed run
    webhook: list[float] = field(default_factory=list)  # approving writes through the webhook, one at a time
    plain: list[float] = field(default_factory=list)  # the same review patch without it, one at a time
    write_errors: list[str] = field(default_factory=list)


def measure(args: argparse.Namespace, bench: Bench) -> Measured:
    admin, found = bench.admin, Measured()
    say(f"without the operator: {args.lifecycles} Secrets kept {args.window}s, {args.concurrency} at a time")
    found.bare = bare_bound(admin, args.lifecycles, args.concurrency, args.window)
    say(f"{found.bare:.2f}/s without the operator; starting the operator")
    operator = bench.start_operator()
    team = sample_namespace(admin, "team")
    world = World.seed(bench.clients, team, safe_spec(team, approvals=1))
    seen = Watches.of(admin, team)
    until(lambda: client.CustomObjectsApi(admin).get_namespaced_custom_object(
        "strongroom.dev", "v1alpha1", world.vault, "safes", world.safe), 10, "the Safe")
    found.to_access_calls, found.through_calls, found.counted, found.note = accounting(
        operator, world, seen, count=args.accounting, concurrency=args.concurrency)
    say(f"plain Secret creates as admin: {args.rtt} in a row")
    found.rtt = secret_create_rtt(admin, args.rtt)
    say(f"running {args.lifecycles} lifecycles, {args.concurrency} in flight, {args.window}s windows")
    wait_quiet(operator, what="the operator (before the timed run)")
    cpu, calls, started = cpu_seconds(operator.process.pid), api_calls(scrape(operator)), time.monotonic()
    found.done = run_lifecycles(world, seen, args.lifecycles, concurrency=args.concurrency, window=args.window,
                                settle=SETTLE)
    wait_quiet(operator, what="the operator (after the timed run)")
    slowest = max((d for d in found.done if d.to_secret is not None), key=lambda d: d.to_secret or 0, default=None)
    if slowest is not None:
        say(f"slowest approval->Secret: {slowest.name}, {(slowest.to_secret or 0) * 1000:.0f} ms, approved at "
            f"{time.strftime('%H:%M:%S', time.gmtime(slowest.approved_at or 0))}"
            f".{int((slowest.approved_at or 0) % 1 * 1000):03d} UTC")
    found.cpu = cpu_seconds(operator.process.pid) - cpu
    found.main_calls = api_calls(scrape(operator)) - calls
    say(f"timed run took {time.monotonic() - started:.1f}s; the approving write beside a plain one "
        f"({args.patches} requests)")
    found.webhook, found.plain, found.write_errors = write_latencies(bench, operator, team, seen,
                                                                     count=args.patches)
    seen.stop()
    return found


def report_latencies(report: Report, found: Measured) -> None:
    ok = [d for d in found.done if d.ok]
    to_secret = [d.to_secret for d in ok if d.to_secret is not None]
    p50, p99, rtt50 = percentile(to_secret, 0.5), percentile(to_secret, 0.99), percentile(found.rtt, 0.5)
    report.figure("approval->Secret p50", show_ms(p50), "<= 3x the Secret create RTT p50",
                  at_most(ratio(p50, rtt50), 3.0))
    report.figure("approval->Secret p99", show_ms(p99), "<= 250 ms", at_most(p99, 0.250))
    readable = [d.to_readable for d in ok if d.to_readable is not None]
    report.figure("approval->readable by alice p50", show_ms(percentile(readable, 0.5)))
    report.figure("approval->readable by alice p99", show_ms(percentile(readable, 0.99)))
    report.figure("Secret create RTT p50 (admin, API server alone)", show_ms(rtt50))
    report.figure("approval->Secret p50 / Secret create RTT p50", times(ratio(p50, rtt50)), "<= 3x",
                  at_most(ratio(p50, rtt50), 3.0))
    errors = [d.deletion_error for d in ok if d.deletion_error is not None]
    lateness = [abs(e) for e in errors]
    report.figure("|Secret deleted - notAfter| p50", show_ms(percentile(lateness, 0.5)))
    report.figure("|Secret deleted - notAfter| p99", show_ms(percentile(lateness, 0.99)), "<= 1000 ms",
                  at_most(percentile(lateness, 0.99), 1.0))
    early = sum(1 for e in errors if e < 0)
    report.figure("Secrets deleted before notAfter", f"{early} of {len(errors)}", "0", early == 0)


def report_work(report: Report, found: Measured, args: argparse.Namespace) -> None:
    ok = [d for d in found.done if d.ok]
    rate = len(ok) / (max(d.finished or 0 for d in ok) - min(d.started for d in ok)) if ok else None
    report.figure("lifecycles/s", "n/a" if rate is None else f"{rate:.2f}",
                  f"none (the window alone caps it near {args.concurrency / args.window:.2f}/s)")
    report.figure("same Secrets without the operator (created, kept, deleted)/s", f"{found.bare:.2f}")
    report.figure("lifecycles/s / without the operator", times(ratio(rate, found.bare)))
    counted = sum(1 for d in found.counted if d.activated) or 1
    up_to, through = work_calls(found.to_access_calls) / counted, work_calls(found.through_calls) / counted
    suffix = f" ({found.note})" if found.note else ""
    report.figure("API calls per lifecycle up to access", f"{up_to:.1f}{suffix}", "<= 15", up_to <= 15)
    report.figure("API calls per lifecycle through expiry", f"{through:.1f}{suffix}", "<= 25", through <= 25)
    main = work_calls(found.main_calls) / max(1, len(found.done))
    report.figure("API calls per lifecycle through expiry (main run)", f"{main:.1f}", "<= 25", main <= 25)
    for verb, resource in sorted(set(found.through_calls) | set(found.to_access_calls), key=lambda k: (k[1], k[0])):
        if resource not in BACKGROUND:
            report.figure(f"API calls per lifecycle [{verb} {resource}]",
                          f"{found.to_access_calls[(verb, resource)] / counted:.2f} up to access, "
                          f"{found.through_calls[(verb, resource)] / counted:.2f} through expiry")
    leases = sum(n for (_, r), n in found.main_calls.items() if r in BACKGROUND)
    report.figure("leader election and heartbeat calls over the main run (not counted above)", f"{leases}")
    report.figure("operator CPU-seconds per lifecycle", f"{found.cpu / max(1, len(found.done)):.3f}")


def report_writes(report: Report, found: Measured) -> None:
    w50, w99 = percentile(found.webhook, 0.5), percentile(found.webhook, 0.99)
    n50, n99 = percentile(found.plain, 0.5), percentile(found.plain, 0.99)
    report.figure("approving write p50, one at a time (carol's approval through the webhook)", show_ms(w50),
                  "<= 2x the plain status patch p50", at_most(ratio(w50, n50), 2.0))
    report.figure("approving write p99, one at a time", show_ms(w99), "<= 2x the plain status patch p99",
                  at_most(ratio(w99, n99), 2.0))
    report.figure("plain status patch p50, one at a time (the same review patch, webhook configuration removed)",
                  show_ms(n50))
    report.figure("plain status patch p99, one at a time", show_ms(n99))
    report.figure("approving write / plain status patch, p50", times(ratio(w50, n50)), "<= 2x",
                  at_most(ratio(w50, n50), 2.0))
    report.figure("approving write / plain status patch, p99", times(ratio(w99, n99)), "<= 2x",
                  at_most(ratio(w99, n99), 2.0))
    approving = [d.approve_write for d in found.done if d.ok and d.approve_write is not None]
    report.figure("approving write p50 in the lifecycles (bob's approval, K in flight)",
                  show_ms(percentile(approving, 0.5)))
    report.figure("approving write p99 in the lifecycles", show_ms(percentile(approving, 0.99)))


def run(args: argparse.Namespace, bench: Bench, report: Report) -> int:
    found = measure(args, bench)
    ok = [d for d in found.done if d.ok]
    failures = [d for d in (*found.done, *found.counted) if not d.ok]
    report.heading(f"bench.lifecycle: {len(ok)} of {args.lifecycles} lifecycles, {args.concurrency} in flight, "
                   f"{args.window}s windows (one operator replica)")
    report_latencies(report, found)
    report_work(report, found, args)
    report_writes(report, found)
    report.figure("lifecycles completed", f"{len(ok)} of {len(found.done)}")
    report.figure("lifecycles failed", f"{len(failures)} (accounting pass included)", "0", not failures)
    report.summary()
    for error in found.write_errors:
        say(f"write latency phase: {error}")
    if failures or found.write_errors:
        print(f"error: {len(failures)} lifecycle(s) failed, {len(found.write_errors)} error(s) measuring the "
              f"writes (why: above); the operator's log is in {bench.logs}", file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.lifecycle", description=__doc__.splitlines()[0])
    parser.add_argument("--lifecycles", type=int, default=30, help="how many lifecycles to time (default 30)")
    parser.add_argument("--concurrency", type=int, default=5, help="lifecycles in flight at any time (default 5)")
    parser.add_argument("--window", type=int, default=3, help="the requested duration, whole seconds (default 3)")
    parser.add_argument("--accounting", type=int, default=10,
                        help="lifecycles of the accounting pass, which counts API calls (default 10)")
    parser.add_argument("--rtt", type=int, default=30, help="plain Secret creates timed in a row (default 30)")
    parser.add_argument("--patches", type=int, default=30,
                        help="approving writes and plain patches timed one at a time (default 30)")
    parser.add_argument("--keep-logs", type=Path, help="keep the operator's log in this directory")
    args = parser.parse_args(argv)
    if min(args.lifecycles, args.window, args.concurrency, args.accounting, args.rtt, args.patches) < 1:
        parser.error("every count and the window must be at least 1")
    return run_bench(lambda bench, report: run(args, bench, report), keep=args.keep_logs)


if __name__ == "__main__":
    sys.exit(main())
