"""The operator can die at any moment and lose nothing: everything is recomputed from the objects."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

from tests.conftest import Cluster, OperatorProcess, start_operator
from tests.operator.test_lifecycle import phase, secret, status
from tests.waiting import eventually
from tests.world import World


def test_an_operator_killed_during_a_grant_and_started_after_its_end_deletes_the_secret_at_once(
    cluster: Cluster, operator: OperatorProcess, make_world, tmp_path: Path
) -> None:
    world: World = make_world(policy={"requiredApprovals": 0})
    name = world.request("alice", duration="5s")["metadata"]["name"]
    eventually(lambda: phase(world, name) == "Active", what="Active")
    secret_name = status(world, name)["secretName"]
    operator.process.kill()  # SIGKILL: no cleanup of any kind
    operator.process.wait()
    not_after = datetime.fromisoformat(status(world, name)["notAfter"].replace("Z", "+00:00"))
    time.sleep(max(0.0, (not_after - datetime.now(UTC)).total_seconds()) + 1)
    assert secret(world, secret_name) is not None, "nobody deleted it while the operator was down"
    restarted = start_operator(cluster, tmp_path / "restarted.log")
    try:
        started = time.monotonic()
        eventually(lambda: secret(world, secret_name) is None, timeout=10, interval=0.05, what="deleted")
        assert time.monotonic() - started < 2.0
        eventually(lambda: phase(world, name) == "Expired", what="Expired")
    finally:
        restarted.stop()


def test_a_restart_writes_a_missing_active_secret_again_and_does_nothing_twice(
    cluster: Cluster, operator: OperatorProcess, make_world, tmp_path: Path
) -> None:
    world: World = make_world(policy={"requiredApprovals": 0})
    name = world.request("alice", duration="30m")["metadata"]["name"]
    eventually(lambda: phase(world, name) == "Active", what="Active")
    secret_name = status(world, name)["secretName"]
    operator.stop()
    world.core("admin").delete_namespaced_secret(secret_name, world.team)
    before = world.get("Grant", status(world, name)["grant"])["status"]["history"]
    restarted = start_operator(cluster, tmp_path / "restarted.log")
    try:
        eventually(lambda: secret(world, secret_name) is not None, timeout=10, what="written again")
        time.sleep(1)
        assert world.get("Grant", status(world, name)["grant"])["status"]["history"] == before
        assert [h["event"] for h in status(world, name)["history"]].count("Active") == 1
    finally:
        restarted.stop()
