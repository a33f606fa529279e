"""`strongroom rotate` as real people: a safe-admin rotates now and sees the result; others are refused."""

from __future__ import annotations

import subprocess
import sys

from strongroom.codegen import rbac
from strongroom.devcluster.sample import binding
from strongroom.kube.client import apply
from tests.conftest import Cluster
from tests.operators import InProcessOperator
from tests.rotation.helpers import assert_nowhere, events_of, rotation_status, set_rotation, vaulted
from tests.world import World


def strongroom(cluster: Cluster, user: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "strongroom", *args, "--kubeconfig", str(cluster.kubeconfig(user))],
                          capture_output=True, text=True, timeout=90, check=False)


def test_a_safe_admin_rotates_now_and_others_are_refused(cluster: Cluster, operator: InProcessOperator,
                                                         world: World) -> None:
    apply(world.clients["admin"], [binding(world.vault, "safe-admins", rbac.SAFE_ADMIN_ROLE, [("User", "carol")])])
    refused = strongroom(cluster, "carol", "rotate", world.account, "-n", world.vault)
    assert refused.returncode == 1 and "has no spec.rotation" in refused.stderr
    set_rotation(world, {"passwordPolicy": {"length": 16}})
    done = strongroom(cluster, "carol", "rotate", world.account, "-n", world.vault, "--wait")
    assert done.returncode == 0, done.stderr
    assert "rotated at" in done.stderr
    password = vaulted(world)["password"]
    assert password != world.password and len(password) == 16
    assert rotation_status(world)["lastResult"] == "Succeeded"
    assert password not in done.stdout + done.stderr
    forbidden = strongroom(cluster, "alice", "rotate", world.account, "-n", world.vault)
    assert forbidden.returncode == 3 and "strongroom-safe-admin" in forbidden.stderr
    assert len(forbidden.stderr.strip().splitlines()) == 1
    missing = strongroom(cluster, "carol", "rotate", "nope", "-n", world.vault)
    assert missing.returncode == 4 and "does not exist" in missing.stderr
    operator.settle()
    assert vaulted(world)["password"] == password, "a refused rotate rotated"
    assert len(events_of(world, "Rotated")) == 1
    assert_nowhere(world, [world.password, password], operator.output())
