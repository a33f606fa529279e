"""The lifecycle benchmark runs end to end and prints every figure; it never judges a timing (the
targets it prints are information), so this checks that it measures, not how fast."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIGURES = ("p50 approval->Secret", "p99 approval->Secret", "p99 |deleted - notAfter|", "lifecycles/s",
           "bare bound, same work", "API capacity, pairs")


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_the_benchmark_completes_its_lifecycles_and_prints_every_figure() -> None:
    done = subprocess.run([sys.executable, "-m", "bench.lifecycle", "--lifecycles", "3", "--concurrency", "3",
                           "--window", "1", "--warmup", "0"], cwd=ROOT, capture_output=True, text=True, timeout=380,
                          check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "3 of 3 lifecycles completed (0 failed)" in done.stdout
    for figure in FIGURES:
        assert re.search(rf"^{re.escape(figure)}\s+[0-9.]+", done.stdout, re.M), f"{figure} missing:\n{done.stdout}"
