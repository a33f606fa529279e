"""`strongroom cluster up|down|kubeconfig` as a user runs them: reuse, stale state, bad input, no leftovers."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import yaml

from strongroom.devcluster.controlplane import free_port
from tests.waiting import eventually


def strongroom(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "strongroom", *args],
        capture_output=True, text=True, timeout=240, check=False, env={**os.environ, **(env or {})},
    )


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/cmdline").read_bytes() != b""


def test_up_reuses_a_running_cluster_recovers_from_stale_state_and_down_leaves_nothing(tmp_path: Path) -> None:
    state_dir = tmp_path / "cp"
    try:
        first = strongroom("cluster", "up", "--dir", str(state_dir))
        assert first.returncode == 0, first.stderr
        assert "control plane started" in first.stdout
        pids = json.loads((state_dir / "state.json").read_text())["pids"]
        assert set(pids) == {"etcd", "kube-apiserver", "kube-controller-manager"}

        second = strongroom("cluster", "up", "--dir", str(state_dir))
        assert second.returncode == 0 and "already running" in second.stdout
        assert json.loads((state_dir / "state.json").read_text())["pids"] == pids

        path = strongroom("cluster", "kubeconfig", "bob", "--dir", str(state_dir)).stdout.strip()
        assert yaml.safe_load(Path(path).read_text())["users"][0]["name"] == "bob"

        # A crash leaves stale state behind: the next `up` cleans it and starts afresh.
        for pid in pids.values():
            os.kill(pid, signal.SIGKILL)
        third = strongroom("cluster", "up", "--dir", str(state_dir))
        assert third.returncode == 0, third.stderr
        assert "stale state" in third.stderr and "control plane started" in third.stdout
        pids = json.loads((state_dir / "state.json").read_text())["pids"]
    finally:
        down = strongroom("cluster", "down", "--dir", str(state_dir))
    assert down.returncode == 0 and "stopped" in down.stdout
    assert not any(alive(pid) for pid in pids.values())
    assert not state_dir.exists()


def test_up_on_a_port_in_use_fails_in_one_line_and_starts_nothing(tmp_path: Path) -> None:
    port = free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        result = strongroom("cluster", "up", "--dir", str(tmp_path / "cp"), "--port", str(port))
    assert result.returncode == 1
    assert result.stderr.strip() == f"error: port {port} is in use; pick another with --port or free it"
    assert not (tmp_path / "cp" / "state.json").exists()


def test_kubeconfig_without_a_cluster_says_how_to_start_one(tmp_path: Path) -> None:
    result = strongroom("cluster", "kubeconfig", "alice", "--dir", str(tmp_path))
    assert result.returncode == 1
    assert "start one with: strongroom cluster up" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_up_without_the_binaries_says_what_to_do_and_starts_nothing(tmp_path: Path) -> None:
    result = strongroom("cluster", "up", "--dir", str(tmp_path / "cp"), env={"STRONGROOM_BIN_DIR": str(tmp_path)})
    assert result.returncode == 1
    assert result.stderr.startswith("error: STRONGROOM_BIN_DIR=") and "run hack/controlplane/build.sh" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "cp" / "state.json").exists()


def test_a_test_run_killed_outright_leaves_no_control_plane_behind(tmp_path: Path) -> None:
    script = (
        "import json, sys, time\n"
        "from pathlib import Path\n"
        "from strongroom.devcluster.controlplane import LocalCluster\n"
        "state, _ = LocalCluster(Path(sys.argv[1])).up(tie_to_parent=True)\n"
        "print(json.dumps(state.pids), flush=True)\n"
        "time.sleep(600)\n"
    )
    runner = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path / "cp")],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        pids = json.loads(runner.stdout.readline())
        assert all(alive(pid) for pid in pids.values())
    finally:
        runner.kill()  # SIGKILL: no finalizer, no atexit
        runner.wait()
    eventually(lambda: not any(alive(pid) for pid in pids.values()), timeout=15, what="all processes gone")
