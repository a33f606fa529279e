"""The README's first command, run exactly as written on this checkout, plays the whole story."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def first_command() -> str:
    block = re.search(r"```sh\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert block, "README.md has no sh block"
    return block.group(1).splitlines()[0].split("#")[0].strip()


def test_the_readme_opens_with_the_two_commands() -> None:
    block = re.search(r"```sh\n(.*?)```", (ROOT / "README.md").read_text(), re.S).group(1)
    commands = [line.split("#")[0].strip() for line in block.splitlines() if line.split("#")[0].strip()]
    assert commands[:2] == ["make demo", "make test"]


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_the_first_command_plays_the_story(tmp_path: Path) -> None:
    # Its own control plane in a temporary directory, so a developer's running demo is left alone.
    env = {**os.environ, "STRONGROOM_DIR": str(tmp_path / "demo")}
    try:
        done = subprocess.run(["bash", "-c", first_command()], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=540, check=False)
    finally:
        subprocess.run([sys.executable, "-m", "strongroom", "cluster", "down"], env=env, capture_output=True,
                       check=False)
    out = done.stdout
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    # Who is who, as the API server answers for each user's own token.
    rows = {line.split("│")[1].strip(): line for line in out.splitlines() if line.count("│") > 3}
    assert {"admin", "alice", "bob", "dave", "audrey"} <= set(rows)
    assert "yes" in rows["admin"] and "yes" not in rows["dave"]
    steps = ["alice$ strongroom accounts", "alice$ strongroom request", "bob$ strongroom pending",
             "bob$ strongroom approve", "carol$ strongroom pending", "carol$ strongroom approve",
             "alice$ strongroom wait", "alice$ strongroom credentials", "alice$ strongroom history"]
    positions = [out.index(step) for step in steps]
    assert positions == sorted(positions), "the story is told in order"
    credentials = out[out.index("alice$ strongroom credentials"):out.index("the window of")]
    assert re.search(r"username\s+postgres", credentials) and re.search(r"password\s+demo-[0-9a-f]{16}", credentials)
    secret_lines = re.findall(r"Secret \S+ exists in team-alice: (True|False)", out)
    assert secret_lines == ["True", "False"], out  # appeared while active, vanished when the window ended
    history = out[out.index("alice$ strongroom history"):]
    for who, what in (("alice", "Submitted"), ("bob", "ReviewApprove"), ("carol", "ReviewApprove")):
        assert re.search(rf"\b{who}\s+{what}\b", history), (who, what, history)
    assert "Expired" in history
