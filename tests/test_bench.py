"""The benchmarks run end to end at a tiny size and print every figure. Their targets are information
and timings are never judged here: this checks that they measure, not how fast. The three run at once,
each on a control plane of its own."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TINY = {
    "lifecycle": ["--lifecycles", "3", "--concurrency", "3", "--window", "1", "--accounting", "3", "--rtt", "5",
                  "--patches", "3"],
    "scale": ["--finished", "20", "--pending", "5", "--active", "5", "--quiet", "5", "--lifecycles", "3",
              "--concurrency", "3", "--overdue", "3", "--expiring", "10", "--span", "5", "--outage-grants", "3"],
    "failover": ["--kills", "2", "--lifecycles", "10", "--concurrency", "3", "--window", "2", "--interval", "2",
                 "--lease-duration", "4s", "--renew-deadline", "3s", "--retry-period", "1s"],
}
# A figure that shows the benchmark measured something (a number, not "n/a").
MEASURED = {"lifecycle": "approval->Secret p50", "scale": "approval->Secret p50 under load",
            "failover": "failover max"}
FIGURE = re.compile(r"\S.*?: \S.* \(target: .+\)")


@pytest.fixture(scope="module")
def runs() -> dict[str, tuple[int, str, str]]:
    """Each benchmark's (exit status, stdout, stderr), all three run at once."""
    started = {name: subprocess.Popen([sys.executable, "-m", f"bench.{name}", *args], cwd=ROOT, text=True,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE)
               for name, args in TINY.items()}
    finished = {}
    for name, process in started.items():
        try:
            out, err = process.communicate(timeout=360)
        except subprocess.TimeoutExpired:
            process.kill()
            out, err = process.communicate()
        finished[name] = (process.returncode, out, err)
    return finished


@pytest.mark.slow
@pytest.mark.timeout(420)
@pytest.mark.parametrize("name", sorted(TINY))
def test_the_benchmark_prints_every_figure(name: str, runs: dict[str, tuple[int, str, str]]) -> None:
    code, out, err = runs[name]
    # 0: ran; 1: ran and saw real errors (failed lifecycles, refusals), reported as figures; 2: could not run.
    assert code in (0, 1), f"exit {code}\n{out[-3000:]}\n{err[-5000:]}"
    every_line = [line for line in out.splitlines() if line and not line.startswith("# ")]
    assert all(FIGURE.fullmatch(line) for line in every_line), f"a line that is not a figure:\n{out}"
    expected = importlib.import_module(f"bench.{name}").FIGURES
    missing = [figure for figure in expected if not printed(out, figure)]
    assert not missing, f"not printed: {missing}\n{out}"
    value = printed(out, MEASURED[name])
    assert re.match(r"-?[0-9.]+ ", f"{value} "), f"{MEASURED[name]}: {value}\n{out}"


def printed(out: str, figure: str) -> str | None:
    """The value printed for `figure`, or None."""
    found = re.search(rf"^{re.escape(figure)}: (\S.*) \(target: .+\)$", out, re.M)
    return found.group(1) if found else None
