"""The real `strongroom` program, run as the real users against the local control plane."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from strongroom.devcluster.binaries import bin_dir
from tests.conftest import Cluster
from tests.operators import InProcessOperator
from tests.waiting import eventually
from tests.world import World

STRONGROOM = str(Path(sys.executable).with_name("strongroom"))
TWO_APPROVERS = {"approvers": {"groups": ["sre-leads"]}, "policy": {"requiredApprovals": 2}}


class Terminal:
    """`strongroom ...` typed by one person after another, in the world's team namespace."""

    def __init__(self, cluster: Cluster, world: World) -> None:
        self.cluster, self.world = cluster, world

    def __call__(self, user: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "KUBECONFIG": str(self.cluster.kubeconfig(user))}
        return subprocess.run([STRONGROOM, *args, "-n", self.world.team], env=env, capture_output=True, text=True,
                              timeout=timeout, check=False)

    def json(self, user: str, *args: str) -> object:
        done = self(user, *args, "-o", "json")
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)


def refused(done: subprocess.CompletedProcess[str], code: int, words: str) -> None:
    assert done.returncode == code, (done.returncode, done.stdout, done.stderr)
    last = done.stderr.strip().splitlines()[-1]  # progress lines (wait) may come first
    assert last.startswith("error: ") and words in last, done.stderr
    assert "Traceback" not in done.stderr


@pytest.fixture
def term(cluster: Cluster, make_world, operator: InProcessOperator) -> Terminal:
    return Terminal(cluster, make_world(**TWO_APPROVERS))


def file(term: Terminal, *extra: str) -> str:
    account = f"{term.world.vault}/{term.world.account}"
    made = term.json("alice", "request", account, "--reason", "INC-1 rebuild the index", *extra)
    return made["metadata"]["name"]


def test_two_approvals_credentials_history_release(term: Terminal) -> None:
    name = file(term, "--for", "5m")
    assert name in [r["metadata"]["name"] for r in eventually(lambda: term.json("bob", "pending") or None)]
    refused(term("dave", "pending"), 3, "you may not list safes")
    assert term.json("erin", "pending") == []  # bound as an approver in the namespace, but not of this Safe

    refused(term("alice", "approve", name), 3, f"you cannot review your own request {name}")
    refused(term("erin", "approve", name), 3,
            f"you are not an approver of safe {term.world.safe} in namespace {term.world.vault}")
    assert term("bob", "approve", name, "--comment", "ok").returncode == 0
    assert name not in [r["metadata"]["name"] for r in term.json("bob", "pending")]
    assert name in [r["metadata"]["name"] for r in term.json("carol", "pending")]
    assert term("carol", "approve", name).returncode == 0

    waited = term("alice", "wait", name, "--for", "active", "--timeout", "30s")
    assert waited.returncode == 0, waited.stderr
    assert "Active" in waited.stdout
    env = term("alice", "credentials", name, "-o", "env")
    assert f"export STRONGROOM_PASSWORD={term.world.password}" in env.stdout.splitlines()
    refused(term("bob", "credentials", name), 3, "not yours")

    actors = [entry["actor"] for entry in term.json("alice", "history", name)]
    assert {"alice", "bob", "carol"} <= set(actors)
    table = term("alice", "history", name)
    assert "WHO" in table.stdout and "carol" in table.stdout

    refused(term("bob", "release", name), 3, "may not release")
    assert term("alice", "release", name).returncode == 0
    finished = term("alice", "wait", name, "--for", "finished", "--timeout", "30s")
    assert finished.returncode == 0 and "Released" in finished.stdout


def test_deny_ends_the_wait_with_its_own_exit_code(term: Terminal) -> None:
    name = file(term)
    refused(term("bob", "deny", name), 2, "--comment")
    assert term("bob", "deny", name, "--comment", "not during the freeze").returncode == 0
    refused(term("alice", "wait", name, "--timeout", "30s"), 6, f"request {name} ended Denied without access")


def test_wait_times_out_with_its_own_exit_code(term: Terminal) -> None:
    name = file(term)
    refused(term("alice", "wait", name, "--timeout", "2s"), 5, f"request {name} is still Pending after 2s")


def test_revoke_is_for_admins(term: Terminal) -> None:
    name = file(term)
    term("bob", "approve", name)
    term("carol", "approve", name)
    grant = term.json("alice", "wait", name, "--timeout", "30s")["status"]["grant"]
    refused(term("bob", "revoke", grant), 3, "only admins can")
    assert term("admin", "revoke", grant).returncode == 0
    assert term.json("alice", "wait", name, "--for", "finished", "--timeout", "30s")["status"]["phase"] == "Revoked"


def test_accounts_shows_what_i_may_request(term: Terminal) -> None:
    rows = term.json("alice", "accounts")
    mine = [row for row in rows if row["name"] == term.world.account and row["namespace"] == term.world.vault]
    assert mine and mine[0]["eligible"] == "yes" and mine[0]["approvals"] == 2
    assert not [row for row in term.json("bob", "accounts") if row["namespace"] == term.world.vault]
    table = term("alice", "accounts")
    assert "ACCOUNT" in table.stdout and term.world.account in table.stdout
    refused(term("dave", "accounts"), 3, "you may not list safes")


def test_bad_input_is_one_line_and_exit_2(term: Terminal) -> None:
    account = f"{term.world.vault}/{term.world.account}"
    refused(term("alice", "request", account, "--for", "0m"), 2, "it must be longer than zero")
    refused(term("alice", "request", account, "--from", "2030-01-01T10:00:00Z"), 2, "--from and --until go together")
    refused(term("alice", "request", "no-such-account"), 2, "no accounts named no-such-account")
    refused(term("alice", "status", "no-such-request"), 4, "not found")


def test_kubectl_finds_the_plugin(cluster: Cluster, world: World) -> None:
    kubectl = bin_dir() / "kubectl"
    env = {**os.environ, "PATH": f"{Path(STRONGROOM).parent}:{os.environ.get('PATH', '')}",
           "KUBECONFIG": str(cluster.kubeconfig("alice"))}
    done = subprocess.run([str(kubectl), "strongroom", "accounts", "-n", world.team, "-o", "json"], env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert world.account in [row["name"] for row in json.loads(done.stdout)]
