"""The operator as a process: healthy and ready (its caches filled, its webhook answering), metrics,
JSON lines, and a clean stop that hands the Lease on at once."""

from __future__ import annotations

import json

from kubernetes import client

from strongroom.devcluster.operator_process import LocalOperator
from strongroom.devcluster.users import LEASE_NAME, OPERATOR_NAMESPACE
from tests.controllers.helpers import active
from tests.world import World


def test_the_operator_starts_ready_serves_metrics_logs_json_and_stops_cleanly(
    operator_process: LocalOperator, make_world, clients: dict[str, client.ApiClient]
) -> None:
    replica = operator_process.replica
    assert replica.http("/healthz")[0] == 200 and replica.http("/readyz")[0] == 200
    world: World = make_world(policy={"requiredApprovals": 0})
    active(world, "alice", "30m")
    code, metrics = replica.http("/metrics")
    assert code == 200
    for name in ("strongroom_leader 1.0", "strongroom_api_requests_total{", "strongroom_access_requests_total{",
                 "strongroom_webhook_admissions_total{", "strongroom_approval_to_secret_seconds_bucket"):
        assert name in metrics, name
    assert operator_process.stop() == 0
    records = [json.loads(line) for line in operator_process.output().splitlines() if line.startswith("{")]
    assert records and all({"time", "level", "logger", "message"} <= set(r) for r in records)
    assert not [r for r in records if r["level"] in ("error", "critical")], operator_process.output()
    lease = client.CoordinationV1Api(clients["admin"]).read_namespaced_lease(LEASE_NAME, OPERATOR_NAMESPACE)
    assert not lease.spec.holder_identity, "a clean stop gives the Lease up for a standby at once"
