"""The operator can die at any moment and lose nothing: everything is recomputed from the objects, and
what it did just before dying is found and recorded. Real processes, killed with SIGKILL."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from kubernetes import client

from strongroom.api.group import API_VERSION
from strongroom.devcluster.operator_process import LocalOperator
from tests.conftest import Cluster, reset_lease, start_operator
from tests.controllers.helpers import active, reaches, secret, status, when
from tests.waiting import eventually
from tests.world import World


def killed(operator: LocalOperator, admin: client.ApiClient) -> None:
    """SIGKILL, then what a cluster does for a dead pod: its address out of the Service; the Lease is
    handed back (a replacement would otherwise wait out the dead one's lease)."""
    operator.kill()
    operator.replica.unpublish()
    reset_lease(admin)


def test_killed_during_a_grant_and_started_after_its_end_the_operator_deletes_the_secret_at_once(
    cluster: Cluster, operator_process: LocalOperator, make_world, clients, tmp_path: Path
) -> None:
    world: World = make_world(policy={"requiredApprovals": 0})
    name, secret_name = active(world, "alice", "5s")
    killed(operator_process, clients["admin"])
    not_after = when(status(world, name)["notAfter"])
    time.sleep(max(0.0, (not_after - datetime.now(UTC)).total_seconds()) + 0.5)
    assert secret(world, secret_name, user="admin") is not None, "nobody deleted it while the operator was down"
    restarted = start_operator(cluster, tmp_path / "restarted.log")  # returns once ready
    try:
        ready = time.monotonic()
        eventually(lambda: secret(world, secret_name, user="admin") is None, timeout=10, interval=0.02,
                   what="deleted")
        assert time.monotonic() - ready < 2.0, "deleted at once, not at some later sweep"
        reaches(world, name, "Expired")
    finally:
        restarted.stop()


def test_a_restart_does_nothing_twice(cluster: Cluster, operator_process: LocalOperator, make_world,
                                      clients, tmp_path: Path) -> None:
    world: World = make_world(policy={"requiredApprovals": 0})
    name, secret_name = active(world, "alice", "30m")
    grant = status(world, name)["grant"]
    before = (world.get("Grant", grant)["status"]["history"], status(world, name)["history"])
    delivered = world.core("admin").read_namespaced_secret(secret_name, world.team)
    killed(operator_process, clients["admin"])
    restarted = start_operator(cluster, tmp_path / "restarted.log")
    try:
        time.sleep(1)  # the restarted operator has looked at everything by now (it was ready)
        assert (world.get("Grant", grant)["status"]["history"], status(world, name)["history"]) == before
        kept = world.core("admin").read_namespaced_secret(secret_name, world.team)
        assert kept.metadata.uid == delivered.metadata.uid, "the Secret was not written again"
    finally:
        restarted.stop()


def test_a_secret_delivered_just_before_a_crash_is_found_and_its_activation_recorded(
    cluster: Cluster, operator_process: LocalOperator, make_world, clients, tmp_path: Path
) -> None:
    """Killed between writing a Secret and recording it: the Grant still says Scheduled while a Secret
    carrying its uid exists. The Secret is planted here exactly as the operator writes it."""
    world: World = make_world(policy={"requiredApprovals": 0, "allowScheduled": True})
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=4)
    stamp = lambda t: t.isoformat().replace("+00:00", "Z")  # noqa: E731
    name = world.request("alice", window={"start": stamp(start), "end": stamp(start + timedelta(minutes=30))}
                         )["metadata"]["name"]
    scheduled = reaches(world, name, "Approved")
    grant = world.get("Grant", scheduled["grant"])
    killed(operator_process, clients["admin"])
    planted = world.core("admin").create_namespaced_secret(world.team, {
        "metadata": {"name": scheduled["secretName"],
                     "labels": {"app.kubernetes.io/managed-by": "strongroom",
                                "strongroom.dev/grant-uid": grant["metadata"]["uid"]},
                     "ownerReferences": [{"apiVersion": API_VERSION, "kind": "Grant", "name": grant["metadata"]["name"],
                                          "uid": grant["metadata"]["uid"]}]},
        "stringData": {"password": "from-before-the-crash"}})
    time.sleep(max(0.0, (start - datetime.now(UTC)).total_seconds()))
    restarted = start_operator(cluster, tmp_path / "restarted.log")
    try:
        activated = reaches(world, scheduled["grant"], "Active", kind="Grant")
        assert activated["secretWrittenAt"] == planted.metadata.creation_timestamp.isoformat().replace("+00:00", "Z")
        assert "before a restart" in activated["history"][-1]["message"]
        delivered = world.core("admin").read_namespaced_secret(scheduled["secretName"], world.team)
        assert base64.b64decode(delivered.data["password"]).decode() == world.password
        assert reaches(world, name, "Active")["activatedAt"] == activated["secretWrittenAt"]
    finally:
        restarted.stop()


def test_a_namespace_is_deleted_while_no_operator_runs(cluster: Cluster, operator_process: LocalOperator,
                                                       make_world, clients) -> None:
    """No finalizer that only the operator could lift: a team namespace goes even with the operator down."""
    world: World = make_world(policy={"requiredApprovals": 0})
    active(world, "alice", "30m")
    killed(operator_process, clients["admin"])
    core = world.core("admin")
    core.delete_namespace(world.team)

    def gone() -> bool:
        try:
            core.read_namespace(world.team)
        except client.exceptions.ApiException as exc:
            return exc.status == 404
        return False

    eventually(gone, timeout=60, what="the namespace deleted")
