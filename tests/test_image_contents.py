"""What the image holds: the operator runs without the local control plane (devcluster), which the
Dockerfile leaves out; the command line then simply has no `cluster` or `demo`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_without_devcluster(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The package as the image installs it (devcluster removed), ahead of this checkout on the path."""
    shutil.copytree(ROOT / "operator" / "strongroom", tmp_path / "strongroom",
                    ignore=shutil.ignore_patterns("devcluster", "__pycache__"), dirs_exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    return subprocess.run([sys.executable, "-m", "strongroom", *args], capture_output=True, text=True, check=False,
                          env=env, cwd=tmp_path)


def test_the_operator_command_works_without_the_local_control_plane(tmp_path: Path) -> None:
    done = run_without_devcluster(tmp_path, "operator", "--help")
    assert done.returncode == 0 and "--leader-elect" in done.stdout, done.stderr
    listed = run_without_devcluster(tmp_path, "--help")
    commands = {line.split()[0] for line in listed.stdout.split("Commands:")[1].splitlines() if line.strip()}
    assert "operator" in commands and not {"cluster", "demo"} & commands


def test_the_dockerfile_leaves_the_local_control_plane_out() -> None:
    assert "rm -rf /opt/strongroom/lib/python3.11/site-packages/strongroom/devcluster" in (
        ROOT / "Dockerfile").read_text()
