"""The operator runs as a subprocess under its own identity, becomes healthy, and stops cleanly."""

from __future__ import annotations

import json

from tests.conftest import OperatorProcess


def test_the_operator_starts_healthy_logs_json_and_stops_cleanly(operator: OperatorProcess) -> None:
    assert operator.process.poll() is None
    assert operator.stop() == 0
    records = [json.loads(line) for line in operator.output().splitlines() if line.startswith("{")]
    assert records, "the operator logged nothing"
    assert not [r for r in records if r["severity"] in ("error", "critical")], operator.output()
