"""The operator can die at any moment and lose nothing: everything is recomputed from the objects."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime
from pathlib import Path

from strongroom.api.grant import GrantSpec
from strongroom.devcluster.users import OPERATOR_NAMESPACE, OPERATOR_USER
from strongroom.identity.keys import KEY_SECRET
from strongroom.identity.signing import seal_issuer
from tests.conftest import Cluster, OperatorProcess, start_operator
from tests.operator.test_lifecycle import active, phase, secret, status
from tests.waiting import eventually
from tests.world import World


def test_an_operator_killed_during_a_grant_and_started_after_its_end_deletes_the_secret_at_once(
    cluster: Cluster, operator: OperatorProcess, make_world, tmp_path: Path
) -> None:
    world: World = make_world(policy={"requiredApprovals": 0})
    name, secret_name = active(world, "alice", "5s")
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
    name, secret_name = active(world, "alice", "30m")
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


def test_a_grant_whose_request_is_not_approved_never_delivers(operator: OperatorProcess, make_world) -> None:
    """A Grant left behind by a decision that lost a race (here: made by hand, correctly sealed, for a
    rejected request) is revoked before any Secret is written."""
    world: World = make_world(members=[{"users": ["erin"]}], policy={"requiredApprovals": 0})
    name = world.request("alice")["metadata"]["name"]
    eventually(lambda: phase(world, name) == "Rejected", what="Rejected")
    spec = GrantSpec.model_validate({
        "account": {"namespace": world.vault, "name": world.account}, "subject": {"user": "alice"},
        "notBefore": "2020-01-01T00:00:00Z", "notAfter": "2099-01-01T00:00:00Z", "secretName": "sneaky",
        "source": {"accessRequest": name}, "issuedBy": OPERATOR_USER,
    })
    key = base64.b64decode(next(iter(
        world.core("admin").read_namespaced_secret(KEY_SECRET, OPERATOR_NAMESPACE).data.values())))
    sealed = spec.model_copy(update={"issued_by_signature": seal_issuer(key, world.team, spec, datetime.now(UTC))})
    world.create("strongroom-operator", "Grant", sealed.model_dump(mode="json", by_alias=True, exclude_none=True),
                 name="left-behind")
    eventually(lambda: (world.get("Grant", "left-behind").get("status") or {}).get("phase") == "Revoked",
               what="Revoked")
    assert world.get("Grant", "left-behind")["status"]["endedReason"] == "RequestNotApproved"
    assert secret(world, "sneaky", user="admin") is None
