"""The operator's Prometheus metrics, in a registry of its own (docs/metrics.md lists them)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_LATENCY = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
_LATENESS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 15, 60)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("strongroom_access_requests_total", "AccessRequests that reached a phase, by phase "
                                "and reason (the rejection reason, or the event)", ["phase", "reason"], registry=r)
        self.approval_to_secret = Histogram(
            "strongroom_approval_to_secret_seconds", "From the deciding approval to the delivered Secret (requests "
            "that need no approval are not counted)", buckets=_LATENCY, registry=r)
        self.deletion_lateness = Histogram(
            "strongroom_secret_deletion_lateness_seconds", "How long after notAfter a delivered Secret was deleted "
            "at expiry (never before it)", buckets=_LATENESS, registry=r)
        self.webhook = Counter("strongroom_webhook_admissions_total", "Admission requests answered, by webhook and "
                               "result (allowed or refused)", ["webhook", "result"], registry=r)
        self.webhook_seconds = Histogram("strongroom_webhook_duration_seconds", "Time to answer an admission request",
                                         ["webhook"], buckets=_LATENCY, registry=r)
        self.rotations = Counter("strongroom_rotations_total", "Password rotations, by result", ["result"],
                                 registry=r)
        self.leader = Gauge("strongroom_leader", "1 while this replica leads (reconciles), else 0", registry=r)
        self.leader_transitions = Counter("strongroom_leader_transitions_total",
                                          "Times this replica started or stopped leading", ["to"], registry=r)
        self.reconcile_errors = Counter("strongroom_reconcile_errors_total", "Reconciles that failed, by kind and "
                                        "cause (transient or the error's type)", ["kind", "cause"], registry=r)
        self.api_requests = Counter("strongroom_api_requests_total", "Calls the operator made to the API server, "
                                    "by verb, resource and answer code (0: no answer)", ["verb", "resource", "code"],
                                    registry=r)
        self.queue_depth = Gauge("strongroom_work_queue_depth", "Objects waiting for or in a reconcile", registry=r)

    def api_call(self, verb: str, resource: str, code: int, _seconds: float) -> None:
        self.api_requests.labels(verb, resource, str(code)).inc()

    def reconcile_error(self, kind: str, cause: str) -> None:
        self.reconcile_errors.labels(kind, cause).inc()
