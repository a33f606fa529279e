"""Always on: several replicas serve admission behind one Service, one leads, a standby takes over when
the leader dies or steps down, and two replicas that both believe they lead cannot both decide."""

from __future__ import annotations

import base64
import json
import socket
import ssl
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from kubernetes import client

from strongroom.devcluster.operator_process import LocalOperator
from strongroom.devcluster.users import LEASE_NAME, OPERATOR_NAMESPACE
from strongroom.kube.client import api_client
from tests.conftest import Cluster, reset_lease, start_operator, webhooks_installed
from tests.controllers.helpers import active, phase, reaches, status
from tests.operators import InProcessOperator
from tests.waiting import eventually
from tests.world import World


def holder(admin: client.ApiClient) -> str:
    lease = client.CoordinationV1Api(admin).read_namespaced_lease(LEASE_NAME, OPERATOR_NAMESPACE)
    return lease.spec.holder_identity or ""


def answers_admission(cluster: Cluster, operator: LocalOperator) -> bool:
    """The replica's webhook answers the API server's own client certificate, trusted by the one CA in
    the webhook configuration (the shared serving certificate)."""
    pki = cluster.local.pki_dir
    shared = client.CoreV1Api(api_client(cluster.kubeconfig("admin"))).read_namespaced_secret(
        "strongroom-webhook-tls", OPERATOR_NAMESPACE)
    ca = base64.b64decode(shared.data["ca.crt"]).decode()
    context = ssl.create_default_context(cadata=ca)
    context.check_hostname = False
    context.load_cert_chain(pki / "webhook-client.crt", pki / "webhook-client.key")
    review = {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": "probe", "operation": "CREATE", "namespace": "probe", "userInfo": {"username": "probe"},
        "kind": {"group": "strongroom.dev", "version": "v1alpha1", "kind": "AccessRequest"},
        "resource": {"group": "strongroom.dev", "version": "v1alpha1", "resource": "accessrequests"},
        "object": {"apiVersion": "strongroom.dev/v1alpha1", "kind": "AccessRequest", "metadata": {"name": "p"},
                   "spec": {"account": {"namespace": "v", "name": "a"}}}}}
    body = json.dumps(review).encode()
    replica = operator.replica
    with socket.create_connection((replica.address, replica.webhook_port), timeout=5) as raw, \
            context.wrap_socket(raw) as tls:
        tls.sendall(b"POST /stamp-requester HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)
        answer = b""
        while chunk := tls.recv(65536):
            answer += chunk
    return answer.startswith(b"HTTP/1.1 200") and b"probe" in answer


def cli(cluster: Cluster, user: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "strongroom", *args, "--kubeconfig", str(cluster.kubeconfig(user))],
                          capture_output=True, text=True, check=False)


def test_three_replicas_serve_admission_one_leads_and_a_standby_takes_over_when_it_dies(
    cluster: Cluster, crds, clients, make_world, tmp_path: Path
) -> None:
    admin = clients["admin"]
    with webhooks_installed(admin):
        replicas = [start_operator(cluster, tmp_path / f"replica-{i}.log") for i in range(3)]
        try:
            by_name = {r.name: r for r in replicas}
            eventually(lambda: holder(admin) in by_name, what="one replica leads")
            world: World = make_world(policy={"requiredApprovals": 1})
            names = [world.request("alice", duration="30m")["metadata"]["name"] for _ in range(8)]
            for name in names:
                world.review("bob", name)
            for name in names:
                reaches(world, name, "Active")
            assert all(answers_admission(cluster, r) for r in replicas), "every replica answers, leader or not"

            leader = by_name[holder(admin)]
            killed_at = time.monotonic()
            leader.kill()
            leader.replica.unpublish()  # what the endpoints controller does for a dead pod
            eventually(lambda: holder(admin) not in ("", leader.name), timeout=25, what="a standby leads")
            taken_over = time.monotonic() - killed_at
            assert taken_over <= 15 + 2 + 1, f"failover took {taken_over:.1f}s (lease duration 15 s + 2 s)"
            after = world.request("erin", duration="30m")["metadata"]["name"]
            world.review("bob", after)
            reaches(world, after, "Active")
            grants = world.objects("admin").list_namespaced_custom_object(
                "strongroom.dev", "v1alpha1", world.team, "grants")["items"]
            per_request = Counter(g["spec"]["source"]["uid"] for g in grants)
            assert max(per_request.values()) == 1, "no request got two Grants"
        finally:
            for replica in replicas:
                replica.stop()
            reset_lease(admin)


def test_two_replicas_that_both_believe_they_lead_approve_exactly_one_of_two_requests_for_an_exclusive_account(
    in_process, make_world, clients
) -> None:
    admin = clients["admin"]
    # A renews rarely: once deposed, it goes on believing it leads for up to half a minute.
    first: InProcessOperator = in_process(lease_timing=(timedelta(seconds=120), timedelta(seconds=90),
                                                        timedelta(seconds=60)))
    assert holder(admin) == first.replica.name
    second: InProcessOperator = in_process(lead=False)
    # The Lease is handed to B behind A's back (as after A had been paused past its lease), and A does not
    # hear of it yet (its watch of the fence lags): it goes on deciding as a leader.
    first.op.elector._answer_fence = lambda *_: None
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    client.CoordinationV1Api(admin).patch_namespaced_lease(LEASE_NAME, OPERATOR_NAMESPACE, {"spec": {
        "holderIdentity": second.replica.name, "renewTime": now, "acquireTime": now, "leaseDurationSeconds": 15}})
    eventually(second.op.elector.leading.is_set, what="B leads")
    assert first.op.elector.leading.is_set(), "A still believes it leads"

    world: World = make_world(policy={"requiredApprovals": 0, "exclusiveCheckout": True})
    names = [world.request(user, wait=False, duration="30m")["metadata"]["name"] for user in ("alice", "erin")]
    eventually(lambda: all(phase(world, n) in ("Active", "Rejected") for n in names), what="both decided")
    second.settle()
    assert sorted(phase(world, n) for n in names) == ["Active", "Rejected"]
    rejected = next(n for n in names if phase(world, n) == "Rejected")
    assert status(world, rejected)["rejectedReason"] == "AccountCheckedOut"
    assert first.op.elector.leading.is_set(), "A believed it led throughout"
    # A hears from the fence that another leads, finds the Lease names B, and stops (whatever it
    # wrote meanwhile was refused by the fence: tests/security/test_operator_identity.py).
    del first.op.elector._answer_fence
    first.run_soon(first.op.elector.fence_seen, second.replica.name)
    eventually(lambda: first.exit_code == 1, what="A deposed")
    said = [json.loads(line)["message"] for line in first.output().splitlines()]
    assert f"LeaderStopped: {first.replica.name} lost lease {LEASE_NAME} to {second.replica.name}" in said


def test_operator_status_failover_and_version_as_documented(
    cluster: Cluster, crds, clients, make_world, tmp_path: Path
) -> None:
    admin = clients["admin"]
    with webhooks_installed(admin):
        replicas = [start_operator(cluster, tmp_path / f"replica-{i}.log") for i in range(2)]
        try:
            by_name = {r.name: r for r in replicas}
            leader = eventually(lambda: by_name.get(holder(admin)), what="one replica leads")
            shown = eventually(lambda: _status(cluster), what="both replicas report")
            assert shown["leader"] == leader.name and shown["lastRenewal"] and shown["leadingSince"]
            assert {r["replica"] for r in shown["replicas"]} >= set(by_name)
            version = cli(cluster, "admin", "version", "-o", "json")
            assert version.returncode == 0, version.stderr
            reported = json.loads(version.stdout)
            assert reported["client"] and set(by_name) <= set(reported["operators"])
            assert reported["crds"]["grants"] == ["v1alpha1"]

            asked = cli(cluster, "admin", "operator", "failover")
            assert asked.returncode == 0 and leader.name in asked.stdout, asked.stderr
            standby = next(r for r in replicas if r is not leader)
            eventually(lambda: holder(admin) == standby.name, timeout=15, what="the standby took over")
            assert leader.process.poll() is None and leader.ready(), "the old leader stays on as a standby"
            reasons = {e.reason for e in client.CoreV1Api(admin).list_namespaced_event(OPERATOR_NAMESPACE).items}
            assert {"FailoverRequested", "LeaderElected"} <= reasons
            world: World = make_world(policy={"requiredApprovals": 0})
            active(world, "alice", "30m")

            refused = cli(cluster, "alice", "operator", "failover")
            assert refused.returncode == 3 and refused.stderr.startswith("error: you may not")
        finally:
            for replica in replicas:
                replica.stop()
            reset_lease(admin)


def _status(cluster: Cluster) -> dict | None:
    shown = cli(cluster, "admin", "operator", "status", "-o", "json")
    if shown.returncode != 0:
        return None
    parsed = json.loads(shown.stdout)
    return parsed if len(parsed["replicas"]) >= 2 and parsed["leader"] else None
