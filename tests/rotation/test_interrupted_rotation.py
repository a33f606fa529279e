"""An operator stopped dead at each step of a rotation on a real PostgreSQL server (pending recorded, set
on the target, committed) leaves what the next operator finishes consistently: the stored password logs
in, the old one does not, nothing is left pending, and no value is in a log, an Event or the status.

The operator only logs its steps (DEBUG, `strongroom.rotation.steps`); the stop is the test's doing: the
child process loads crashpoint/sitecustomize.py, which ends it on the spot at the step asked for."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from kubernetes import client

from strongroom.devcluster.operator_process import LocalOperator
from strongroom.rotation.protocol import PENDING_KEY, STEPS
from tests.conftest import Cluster, reset_lease, start_operator
from tests.operators import InProcessOperator
from tests.postgres import PostgresServer
from tests.rotation.crashpoint.sitecustomize import STOP_AT, STOPPED
from tests.rotation.helpers import (
    assert_nowhere,
    on_postgres,
    request_rotation,
    rotation_status,
    settled_password,
    vaulted,
)
from tests.waiting import eventually
from tests.world import World

CRASHPOINT = Path(__file__).parent / "crashpoint"


def stopping_at(step: str, cluster: Cluster, log: Path, monkeypatch: pytest.MonkeyPatch) -> LocalOperator:
    """The operator as a child process that ends itself (exit 86) when a rotation reaches `step`."""
    with monkeypatch.context() as env:  # the child takes the environment as it is at its start
        env.setenv(STOP_AT, step)
        env.setenv("PYTHONPATH", os.pathsep.join([str(CRASHPOINT), *filter(None, [os.environ.get("PYTHONPATH")])]))
        return start_operator(cluster, log)


def assert_left_at(step: str, world: World, postgres: PostgresServer, role: str) -> None:
    """What the Secret and the server hold when the operator stopped right after `step`."""
    left = vaulted(world)
    pending = left.get(PENDING_KEY)
    if step == "pending-recorded":
        assert pending and left["password"] == world.password
        assert postgres.can_login(role, world.password) and not postgres.can_login(role, pending)
    elif step == "target-set":
        assert pending and left["password"] == world.password
        assert postgres.can_login(role, pending) and not postgres.can_login(role, world.password)
    else:
        assert pending is None and left["password"] != world.password
        assert postgres.can_login(role, left["password"])
        assert "lastResult" not in rotation_status(world), "stopped before the result was reported"


@pytest.mark.parametrize("step", STEPS)
def test_an_operator_stopped_at_each_step_of_a_rotation_leaves_what_the_next_one_finishes_consistently(
    step: str, cluster: Cluster, *, clients: dict[str, client.ApiClient],
    in_process: Callable[..., InProcessOperator], make_world, postgres: PostgresServer, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch
) -> None:
    world: World = make_world()
    role = on_postgres(world, postgres, {})
    doomed = stopping_at(step, cluster, tmp_path / "doomed.log", monkeypatch)
    try:
        request_rotation(world, datetime.now(UTC))
        eventually(lambda: doomed.process.poll() is not None, what=f"the operator stopped at {step}")
    finally:
        doomed.stop()
    assert doomed.process.returncode == STOPPED, f"it did not stop at {step}; see {doomed.log}"
    assert_left_at(step, world, postgres, role)
    pending = vaulted(world).get(PENDING_KEY)
    reset_lease(clients["admin"])  # the stopped replica held the Lease; it would hold it until it expired

    operator = in_process()
    password = eventually(lambda: rotation_status(world).get("lastResult") == "Succeeded" and settled_password(world),
                          timeout=20, what="consistent and rotated")
    operator.settle()
    assert settled_password(world) == password and PENDING_KEY not in vaulted(world)
    assert password != world.password
    assert postgres.can_login(role, password) and not postgres.can_login(role, world.password)
    if step == "pending-recorded":
        assert "RotationRolledBack" in operator.output(), "the target had the old password: roll back, then rotate"
    if step == "target-set":
        assert password == pending, "the target had the pending password: it is committed, not replaced"
        assert "interrupted rotation was completed" in rotation_status(world)["message"]
    assert_nowhere(world, [world.password, password, postgres.password, *filter(None, [pending])],
                   doomed.output(), operator.output())
