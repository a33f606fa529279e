"""What the benchmarks share: a local control plane with Strongroom installed and operator replicas
(`Bench`), the people's clients and a vault to ask (`World`), one admin watch per kind of object
(`Watch`), a timed lifecycle (`lifecycle`), the operator's /metrics and /proc, and the one way
figures are printed: `figure: value (target: ...)`, one line each, on stdout. Progress goes to stderr.

Only the installed `strongroom` package, the standard library and the runtime dependencies are used.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import secrets
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException
from kubernetes.watch.watch import iter_resp_lines
from prometheus_client.parser import text_string_to_metric_families

from strongroom.api.common import format_time
from strongroom.api.group import API_VERSION, GROUP, VERSION
from strongroom.devcluster import install, operator_process
from strongroom.devcluster.controlplane import LocalCluster
from strongroom.devcluster.operator_process import LocalOperator
from strongroom.devcluster.sample import seed
from strongroom.devcluster.users import LEASE_NAME, OPERATOR_NAMESPACE, USER_NAMES
from strongroom.kube.client import api_client
from strongroom.policy.delivery import MANAGED_BY, secret_name_for

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
DELIVERED = f"{MANAGED_BY}=strongroom"  # the label selector of the Secrets the operator delivers
BACKGROUND = frozenset({"leases"})  # leader election and heartbeats: not the work of any one object


def say(message: str) -> None:
    """A progress line (stderr, so that stdout holds the figures only)."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- figures ---------------------------------------------------------------------------------------


class Report:
    """Prints `figure: value (target: ...)`; a target met or missed says so, and never changes the
    exit status (a timing is information)."""

    def __init__(self) -> None:
        self.judged: list[str] = []  # figures with a target
        self.missed: list[str] = []

    def heading(self, text: str) -> None:
        print(f"\n# {text}", flush=True)

    def figure(self, name: str, value: str, target: str = "none", met: bool | None = None) -> None:
        verdict = "" if met is None else ("; met" if met else "; MISSED")
        if met is not None:
            self.judged.append(name)
        if met is False:
            self.missed.append(name)
        print(f"{name}: {value} (target: {target}{verdict})", flush=True)

    def summary(self) -> None:
        """The last figure: which targets were missed."""
        self.figure("targets missed", f"{len(self.missed)} of {len(self.judged)}"
                    + (f": {'; '.join(self.missed)}" if self.missed else ""))


def ms(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds * 1000:.0f} ms"


def secs(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds:.2f} s"


def at_most(value: float | None, limit: float) -> bool | None:
    return None if value is None else value <= limit


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """Nearest rank: the smallest value with at least `fraction` of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def times(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


# -- the operator's process and metrics ------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process (all its threads), from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime (fields 14 and 15)


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


Samples = dict[str, list[tuple[dict[str, str], float]]]


def parse_metrics(text: str) -> Samples:
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((dict(sample.labels), float(sample.value)))
    return found


def scrape(operator: LocalOperator) -> Samples:
    code, text = operator.replica.http("/metrics")
    if code != 200:
        raise RuntimeError(f"the operator's /metrics answered {code}: {text[:200]}")
    return parse_metrics(text)


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sum of the samples of `name` whose labels include `labels`."""
    return sum(v for found, v in samples.get(name, []) if all(found.get(k) == w for k, w in labels.items()))


def api_calls(samples: Samples) -> Counter[tuple[str, str]]:
    """The operator's calls to the API server so far, by (verb, resource), every answer code together."""
    calls: Counter[tuple[str, str]] = Counter()
    for labels, count in samples.get("strongroom_api_requests_total", []):
        calls[(labels["verb"], labels["resource"])] += int(count)
    return calls


def work_calls(calls: Counter[tuple[str, str]]) -> int:
    """Calls other than leader election and heartbeats."""
    return sum(n for (_, resource), n in calls.items() if resource not in BACKGROUND)


def log_lines(operator_log: Path) -> int:
    try:
        with operator_log.open("rb") as handle:
            return sum(1 for _ in handle)
    except OSError:
        return 0


def log_between(operator_log: Path, start: float, end: float) -> Counter[str]:
    """The operator's log lines stamped within [start, end] (wall clock), counted by logger."""
    found: Counter[str] = Counter()
    try:
        text = operator_log.read_text(errors="replace")
    except OSError:
        return found
    for line in text.splitlines():
        try:
            entry = json.loads(line)
            stamp = datetime.fromisoformat(str(entry["time"])).timestamp()
        except (ValueError, KeyError, TypeError):
            continue
        if start <= stamp <= end:
            found[str(entry.get("logger", "?"))] += 1
    return found


def wait_quiet(operator: LocalOperator, quiet: float = 3.5, timeout: float = 600, what: str = "the operator"
               ) -> float:
    """Wait until the operator has made no API call (leases aside) for `quiet` seconds; returns the
    monotonic time of its last call seen (within the polling interval, 0.25 s)."""
    started = time.monotonic()
    last_count, last_change, last_said = -1, started, started
    while True:
        try:
            count = work_calls(api_calls(scrape(operator)))
        except (RuntimeError, OSError):
            count = last_count
        now = time.monotonic()
        if count != last_count:
            last_count, last_change = count, now
        elif now - last_change >= quiet:
            return last_change
        if now - started > timeout:
            raise TimeoutError(f"{what} was still busy after {timeout:.0f}s")
        if now - last_said >= 15:
            say(f"waiting for {what} to settle: {count} API calls so far")
            last_said = now
        time.sleep(0.25)


# -- the control plane and the operator -------------------------------------------------------------


def lease_args(duration: str, renew_deadline: str, retry_period: str) -> list[str]:
    return ["--lease-duration", duration, "--renew-deadline", renew_deadline, "--retry-period", retry_period]


class Bench:
    """A local control plane in a temporary directory with Strongroom installed (CRDs Established,
    admission policies, the webhook configuration), a client per person, and operator replicas."""

    def __init__(self, operator_args: Sequence[str] = (), keep: Path | None = None) -> None:
        self.operator_args = list(operator_args)
        self._scratch = tempfile.TemporaryDirectory(prefix="strongroom-bench-")
        self.dir = Path(self._scratch.name)
        self.logs = keep or self.dir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.local = LocalCluster(self.dir / "controlplane")
        self.clients: dict[str, client.ApiClient] = {}
        self.operators: list[LocalOperator] = []
        self._started = 0
        self.extra_processes: list[Any] = []  # anything else started here (a restarted kube-apiserver)

    def __enter__(self) -> Bench:
        try:
            self.state, _ = self.local.up(tie_to_parent=True)  # every process dies with this thread
            self.clients = {user: api_client(self.local.kubeconfig(user), connections=64) for user in USER_NAMES}
            install.install(self.admin, webhooks=True)
            self._established()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @property
    def admin(self) -> client.ApiClient:
        return self.clients["admin"]

    def _established(self) -> None:
        extensions = client.ApiextensionsV1Api(self.admin)
        for manifest in install.crds():
            name = manifest["metadata"]["name"]
            until(lambda name=name: any(c.type == "Established" and c.status == "True" for c in
                                        extensions.read_custom_resource_definition(name).status.conditions or []),
                  30, f"CRD {name} established")
        for plural in ("safes", "accounts", "accessrequests", "grants"):  # served, not only established
            until(lambda plural=plural: client.CustomObjectsApi(self.admin).list_cluster_custom_object(
                GROUP, VERSION, plural, limit=1) is not None, 30, f"{plural} served")

    def start_operator(self, *extra: str, publish: bool = True) -> LocalOperator:
        """One more replica (a Pod, a token, a process tied to this thread), ready; with `publish`,
        listed behind the webhook Service."""
        self._started += 1
        log = self.logs / f"operator-{self._started}.log"
        running = operator_process.start(self.local, log, *self.operator_args, *extra, tied=True, publish=publish)
        self.operators.append(running)
        return running

    def close(self) -> None:
        for running in self.operators:
            with contextlib.suppress(Exception):
                if running.process.poll() is None:
                    running.kill()
                running.replica.remove()
        for process in self.extra_processes:
            with contextlib.suppress(Exception):
                process.kill()
                process.wait(timeout=10)
        state = self.local.state()
        # Everything goes with the directory: no need for kube-apiserver's graceful shutdown, which
        # waits for open watches (up to a minute).
        if state is not None:
            pid = state.pids.get("kube-apiserver")
            with contextlib.suppress(OSError):
                if pid and Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].endswith(b"kube-apiserver"):
                    os.kill(pid, 9)
        for api in self.clients.values():
            with contextlib.suppress(Exception):
                api.close()
        with contextlib.suppress(Exception):
            self.local.down()
        self._scratch.cleanup()


def run_bench(run: Callable[[Bench, Report], int], *, keep: Path | None, operator_args: Sequence[str] = ()) -> int:
    """`run` on a fresh control plane: its exit status, or 2 with one line when the benchmark could not run."""
    try:
        with Bench(operator_args, keep=keep) as bench:
            return run(bench, Report())
    except Exception as error:
        print(f"error: the benchmark could not run: {type(error).__name__}: {error}", file=sys.stderr)
        raise SystemExit(2) from error


def holder(admin: client.ApiClient) -> str:
    """Who holds the leader Lease ("" when nobody does)."""
    lease = client.CoordinationV1Api(admin).read_namespaced_lease(LEASE_NAME, OPERATOR_NAMESPACE)
    return str(lease.spec.holder_identity or "")


def list_raw(admin: client.ApiClient, namespace: str, plural: str) -> list[dict[str, Any]]:
    """Strongroom objects as the API server sends them (no client models: thousands are listed)."""
    answer = client.CustomObjectsApi(admin).list_namespaced_custom_object(
        GROUP, VERSION, namespace, plural, _preload_content=False, _request_timeout=120)
    return list(json.loads(answer.data)["items"])


def until(probe: Callable[[], Any], timeout: float, what: str, interval: float = 0.1) -> Any:
    """The first truthy answer of `probe` (errors count as not yet), or TimeoutError."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            found = probe()
        except (ApiException, OSError):
            found = None
        if found:
            return found
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not happen within {timeout:.0f}s")
        time.sleep(interval)


# -- a vault to ask, and the people who ask ---------------------------------------------------------


def safe_spec(team: str, *, approvals: int = 1, members: Sequence[str] = ("dev",), member_users: Sequence[str] = (),
              approvers: Sequence[str] = ("bob", "carol", "erin"), **policy: Any) -> dict[str, Any]:
    member = {"groups": list(members), **({"users": list(member_users)} if member_users else {})}
    return {
        "description": "Benchmark database",
        "members": [member],
        "approvers": {"users": list(approvers), "groups": []},
        "policy": {"requiredApprovals": approvals, "allowedNamespaces": {"names": [team]}, **policy},
    }


@dataclass
class World:
    """A vault (Safe `prod-db`, Account `db` and its Secret) delivering to a team namespace."""

    clients: dict[str, client.ApiClient]
    vault: str
    team: str
    safe: str = "prod-db"
    account: str = "db"

    @classmethod
    def seed(cls, clients: dict[str, client.ApiClient], team: str, spec: dict[str, Any] | None = None,
             vault: str | None = None) -> World:
        vault = vault or f"vault-{secrets.token_hex(3)}"
        sample = seed(clients["admin"], vault, team, f"pw-{secrets.token_hex(12)}", spec or safe_spec(team))
        return cls(clients, sample.vault, sample.team, sample.safe, sample.account)

    def objects(self, user: str) -> client.CustomObjectsApi:
        return client.CustomObjectsApi(self.clients[user])

    def request(self, user: str = "alice", *, name: str | None = None, duration: str | None = None,
                window: tuple[datetime, datetime] | None = None) -> dict[str, Any]:
        spec: dict[str, Any] = {"account": {"namespace": self.vault, "name": self.account},
                                "reason": "INC-1234 benchmark"}
        if duration:
            spec["duration"] = duration
        if window:
            spec["window"] = {"start": format_time(window[0]), "end": format_time(window[1])}
        body = {"apiVersion": API_VERSION, "kind": "AccessRequest",
                "metadata": {"name": name or f"req-{secrets.token_hex(4)}"}, "spec": spec}
        return self.objects(user).create_namespaced_custom_object(GROUP, VERSION, self.team, "accessrequests", body)

    def review(self, user: str, name: str, status: dict[str, Any] | None, decision: str = "Approve",
               full: bool = False) -> dict[str, Any]:
        """Add a review as `user`, as `kubectl patch --subresource=status --type=json` does; `status` is
        the request's status as last seen (it decides the patch's path); `full`: with the reviewer's
        name and the time in the review."""
        review: dict[str, Any] = {"decision": decision, "comment": "benchmark"}
        if full:  # what the webhook would stamp (without it, the CRD requires them; with it, they are checked)
            review |= {"user": user, "time": format_time(datetime.now(UTC))}
        if status is None:
            op = {"op": "add", "path": "/status", "value": {"reviews": [review]}}
        elif not status.get("reviews"):
            op = {"op": "add", "path": "/status/reviews", "value": [review]}
        else:
            op = {"op": "add", "path": "/status/reviews/-", "value": review}
        return self.objects(user).patch_namespaced_custom_object_status(
            GROUP, VERSION, self.team, "accessrequests", name, [op], _content_type="application/json-patch+json")

    def delete_request(self, name: str) -> None:
        with contextlib.suppress(ApiException):
            self.objects("admin").delete_namespaced_custom_object(GROUP, VERSION, self.team, "accessrequests", name)


def parse_time(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


# -- watching as admin ------------------------------------------------------------------------------


class Gone(Exception):
    """The watch's resourceVersion is too old: list again."""


@dataclass
class Seen:
    """One object as the watch last saw it, and when (wall clock) it was first ADDED and DELETED."""

    obj: dict[str, Any]
    added: float | None = None
    deleted: float | None = None


class Watch:
    """Admin's watch on one kind of object in one namespace: the last version of each object by name,
    and the wall-clock moments each was added and deleted. Survives dropped streams and a restarting
    API server (it resumes where it was; when that is too old, it lists again)."""

    def __init__(self, api: client.ApiClient, namespace: str, kind: str, labels: str = "", *,
                 existing: bool = True) -> None:
        """`existing`: also keep what exists already (else only what changes from now on)."""
        self.namespace, self.kind, self.labels = namespace, kind, labels
        if kind == "secrets":
            core = client.CoreV1Api(api)
            self._list: Callable[..., Any] = core.list_namespaced_secret
            self._args: tuple[Any, ...] = (namespace,)
        else:
            objects = client.CustomObjectsApi(api)
            self._list = objects.list_namespaced_custom_object
            self._args = (GROUP, VERSION, namespace, kind)
        self.seen: dict[str, Seen] = {}
        self.changed = threading.Condition()
        self.stopped = threading.Event()
        self.relists = 0
        self.version = self._relist(initial=True, everything=existing)
        self._thread = threading.Thread(target=self._run, name=f"watch-{kind}", daemon=True)
        self._thread.start()

    def _relist(self, initial: bool = False, everything: bool = True) -> str:
        """List everything (as `added` only when not initial); those gone meanwhile count as deleted now.
        Without `everything`, only the version to watch from."""
        answer = self._list(*self._args, label_selector=self.labels or None, _preload_content=False,
                            **({} if everything else {"limit": 1}))
        if not everything:
            return str(json.loads(answer.data)["metadata"]["resourceVersion"])
        listed = json.loads(answer.data)
        now = time.time()
        names = set()
        with self.changed:
            for item in listed.get("items") or []:
                name = item["metadata"]["name"]
                names.add(name)
                seen = self.seen.get(name)
                if seen is None:
                    self.seen[name] = Seen(item, added=None if initial else now)
                else:
                    seen.obj = item
            if not initial:
                self.relists += 1
                for name, seen in self.seen.items():
                    if name not in names and seen.deleted is None:
                        seen.deleted = now
            self.changed.notify_all()
        return str(listed["metadata"]["resourceVersion"])

    def _run(self) -> None:
        while not self.stopped.is_set():
            try:
                answer = self._list(*self._args, label_selector=self.labels or None, watch=True,
                                    resource_version=self.version, timeout_seconds=300, allow_watch_bookmarks=True,
                                    _preload_content=False, _request_timeout=(5, 330))
                for line in iter_resp_lines(answer):
                    if line.strip():
                        self._event(json.loads(line))
                    if self.stopped.is_set():
                        return
            except Gone:
                with contextlib.suppress(Exception):
                    self.version = self._relist()
            except ApiException as error:
                if error.status == 410:
                    with contextlib.suppress(Exception):
                        self.version = self._relist()
                else:
                    time.sleep(0.05)
            except Exception:  # a dropped stream or an API server away: resume from where it was
                time.sleep(0.05)

    def _event(self, event: dict[str, Any]) -> None:
        stamp = time.time()
        kind, obj = event["type"], event["object"]
        if isinstance(obj, str):
            obj = json.loads(obj)
        if kind == "ERROR":
            if obj.get("code") == 410:
                raise Gone
            raise RuntimeError(f"watch error: {obj}")
        version = obj.get("metadata", {}).get("resourceVersion")
        if version:
            self.version = str(version)
        if kind == "BOOKMARK":
            return
        name = obj["metadata"]["name"]
        with self.changed:
            seen = self.seen.get(name)
            if seen is None:
                seen = self.seen[name] = Seen(obj)
            seen.obj = obj
            if kind == "ADDED" and seen.added is None:
                seen.added = stamp
            elif kind == "DELETED" and seen.deleted is None:
                seen.deleted = stamp
            self.changed.notify_all()

    def wait(self, name: str, test: Callable[[Seen], bool], timeout: float, what: str) -> Seen:
        with self.changed:
            if not self.changed.wait_for(lambda: name in self.seen and test(self.seen[name]), timeout):
                raise TimeoutError(f"{self.kind} {name}: {what} did not happen within {timeout:.0f}s")
            return self.seen[name]

    def wait_all(self, names: Sequence[str], test: Callable[[Seen], bool], timeout: float) -> list[str]:
        """Wait until `test` holds for every name; those for which it does not by then."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                missing = [n for n in names if n not in self.seen or not test(self.seen[n])]
                left = deadline - time.monotonic()
                if not missing or left <= 0:
                    return missing
                self.changed.wait(min(left, 1.0))

    def get(self, name: str) -> Seen | None:
        with self.changed:
            return self.seen.get(name)

    def stop(self) -> None:
        self.stopped.set()


def status_of(seen: Seen) -> dict[str, Any]:
    return seen.obj.get("status") or {}


def phase_of(seen: Seen) -> str:
    status = status_of(seen)
    return str(status.get("phase", "")) if status.get("history") else ""


# -- one lifecycle ----------------------------------------------------------------------------------


def admission_refusal(error: ApiException) -> bool:
    """Whether an answer is a refusal at admission (a webhook or an admission policy, including a
    webhook that could not be called), rather than something else."""
    text = f"{error.reason} {error.body}"
    return any(word in text for word in ("admission webhook", "ValidatingAdmissionPolicy", "failed calling webhook",
                                         "denied the request"))


def why(failure: BaseException) -> str:
    if not isinstance(failure, ApiException):
        return f"{type(failure).__name__}: {failure}"
    with contextlib.suppress(TypeError, ValueError, KeyError):
        return f"HTTP {failure.status}: {json.loads(failure.body)['message']}"
    return f"HTTP {failure.status}: {failure.reason}"


@dataclass
class Lifecycle:
    """What one lifecycle did and how long each step took (None: it did not get there)."""

    name: str = ""
    started: float = 0.0  # monotonic: alice starts filing the request
    approve_write: float | None = None  # s: bob's review patch, through the webhook
    approved_at: float | None = None  # wall: bob's review patch returned
    to_secret: float | None = None  # s: from bob's patch returning to the Secret's ADDED event
    not_after: float | None = None  # wall, from the request's status
    deleted: float | None = None  # wall: the Secret's DELETED event
    finished: float | None = None  # monotonic: the lifecycle ended (deleted, or failed)
    refused: list[str] = field(default_factory=list)  # refusals at admission: "request: ...", "review: ..."
    error: str | None = None  # why it failed (a refusal among the reasons)
    to_readable: float | None = None  # s: from bob's patch returning to alice's first successful read
    approved: bool = False  # bob's approval was accepted
    activated: bool = False  # the Secret appeared

    @property
    def deletion_error(self) -> float | None:
        """The Secret's deletion minus notAfter (negative: early)."""
        return None if self.deleted is None or self.not_after is None else self.deleted - self.not_after

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class Watches:
    requests: Watch
    secrets: Watch

    @classmethod
    def of(cls, admin: client.ApiClient, team: str) -> Watches:
        return cls(Watch(admin, team, "accessrequests"), Watch(admin, team, "secrets", DELIVERED))

    def stop(self) -> None:
        self.requests.stop()
        self.secrets.stop()


def to_access(world: World, seen: Watches, window: int, settle: float, *, reviewer: str = "bob",
              alice_reads: bool = True) -> Lifecycle:
    """Alice files a request for `window` seconds, the operator marks it Pending, `reviewer` approves,
    the Secret appears and alice reads it. A failure is recorded in the result (`error`)."""
    done = Lifecycle(started=time.monotonic())
    step = "filing the request"
    try:
        try:
            done.name = world.request("alice", duration=f"{window}s")["metadata"]["name"]
        except ApiException as refused:
            if admission_refusal(refused):
                done.refused.append(f"request: {why(refused)}")
            raise
        step = "the operator marking it Pending"
        pending = seen.requests.wait(done.name, lambda s: phase_of(s) != "", settle, "marked Pending")
        step = f"{reviewer}'s approval"
        before = time.monotonic()
        try:
            world.review(reviewer, done.name, status_of(pending))
        except ApiException as refused:
            if admission_refusal(refused):
                done.refused.append(f"review: {why(refused)}")
            raise
        done.approve_write, done.approved_at, done.approved = time.monotonic() - before, time.time(), True
        step = "the Secret appearing"
        added = seen.secrets.wait(secret_name_for(done.name), lambda s: s.added is not None, settle, "ADDED")
        assert added.added is not None
        done.to_secret, done.activated = added.added - done.approved_at, True
        if alice_reads:
            step = "alice reading her Secret"
            done.to_readable = readable(world, secret_name_for(done.name), settle) - done.approved_at
    except Exception as failed:
        done.error = f"{step}: {why(failed)}"
        done.finished = time.monotonic()
    return done


def readable(world: World, secret: str, timeout: float) -> float:
    """Alice reads the Secret, again every 10 ms while she may not yet (her Role and RoleBinding follow
    the Secret, and the API server's authorizer follows them); the wall-clock time of the first read."""
    core = client.CoreV1Api(world.clients["alice"])
    deadline = time.monotonic() + timeout
    while True:
        try:
            core.read_namespaced_secret(secret, world.team, _preload_content=False)
            return time.time()
        except ApiException as error:
            if error.status != 403 or time.monotonic() > deadline:
                raise
        time.sleep(0.01)


def to_expiry(world: World, seen: Watches, done: Lifecycle, window: float, settle: float) -> Lifecycle:
    """The Secret of a lifecycle that reached access goes at notAfter; notAfter as recorded."""
    if done.error:
        return done
    step = "the Secret going at notAfter"
    try:
        gone = seen.secrets.wait(secret_name_for(done.name), lambda s: s.deleted is not None, window + settle,
                                 "DELETED")
        done.deleted = gone.deleted
        step = "status.notAfter recorded"
        recorded = seen.requests.wait(done.name, lambda s: bool(status_of(s).get("notAfter")), settle, "notAfter")
        done.not_after = parse_time(status_of(recorded)["notAfter"])
    except Exception as failed:
        done.error = f"{step}: {why(failed)}"
    done.finished = time.monotonic()
    return done


def lifecycle(world: World, seen: Watches, window: int, settle: float, *, keep_failed: bool = False) -> Lifecycle:
    """One whole lifecycle: request, approval, Secret, deletion at notAfter. Any failure ends this
    lifecycle only; a failed request is deleted (left behind it would load the operator) unless
    `keep_failed`."""
    done = to_expiry(world, seen, to_access(world, seen, window, settle), window, settle)
    if done.error and done.name and not keep_failed:
        world.delete_request(done.name)
    return done


def run_lifecycles(world: World, seen: Watches, count: int, *, concurrency: int, window: int, settle: float,
                   label: str = "lifecycles") -> list[Lifecycle]:
    """`count` lifecycles, `concurrency` in flight at any time; a progress line every few seconds."""
    results: list[Lifecycle] = []
    lock = threading.Lock()
    last_said = [time.monotonic()]

    def one(_: int) -> Lifecycle:
        outcome = lifecycle(world, seen, window, settle)
        with lock:
            results.append(outcome)
            if outcome.error:
                say(f"{label}: FAILED {outcome.name or '(no request)'}: {outcome.error[:300]}")
            if time.monotonic() - last_said[0] >= 5 or len(results) == count:
                last_said[0] = time.monotonic()
                failed = sum(1 for r in results if not r.ok)
                say(f"{label}: {len(results)}/{count} finished ({failed} failed)")
        return outcome

    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(count)))
    return results


# -- bulk creation ------------------------------------------------------------------------------------


def create_many(make: Callable[[int], Any], count: int, threads: int = 16, label: str = "objects") -> list[Any]:
    """Call `make(i)` for i < count on `threads` threads, retrying what fails for a transient reason;
    a progress line every 5 s. Returns the results in order."""
    results: list[Any] = [None] * count
    made = [0]
    lock = threading.Lock()
    said = [time.monotonic()]

    def one(number: int) -> None:
        for attempt in range(20):
            try:
                results[number] = make(number)
                break
            except ApiException as error:
                if error.status not in (0, 429, 500, 502, 503, 504) or attempt == 19:
                    raise
                time.sleep(0.2 * (attempt + 1))
        with lock:
            made[0] += 1
            if time.monotonic() - said[0] >= 5:
                said[0] = time.monotonic()
                say(f"created {made[0]}/{count} {label}")

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, range(count)))
    return results


def sample_namespace(admin: client.ApiClient, prefix: str) -> str:
    name = f"{prefix}-{secrets.token_hex(3)}"
    client.CoreV1Api(admin).create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    return name


def secret_create_rtt(admin: client.ApiClient, count: int) -> list[float]:
    """Round trips of plain Secret creates as admin, one after the other, in a namespace of their own."""
    core = client.CoreV1Api(admin)
    namespace = sample_namespace(admin, "bench-rtt")
    data = {"username": "cG9zdGdyZXM=", "password": "cHctMDEyMzQ1Njc4OWFiY2RlZg=="}
    taken = []
    for number in range(count):
        body = client.V1Secret(metadata=client.V1ObjectMeta(name=f"rtt-{number}"), type="kubernetes.io/basic-auth",
                               data=data)
        started = time.monotonic()
        core.create_namespaced_secret(namespace, body, _preload_content=False)
        taken.append(time.monotonic() - started)
    core.delete_namespace(namespace, propagation_policy="Background")
    return taken
