"""Every manifest in examples/ is applied to the real API server, so the examples never rot."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from kubernetes import client

from strongroom.api.group import GROUP, VERSION
from strongroom.codegen.rbac import VAULT_ACCESS_ROLE
from strongroom.devcluster.sample import binding
from strongroom.devcluster.users import OPERATOR_NAMESPACE, OPERATOR_SERVICE_ACCOUNT
from strongroom.kube.client import apply
from tests.operators import InProcessOperator
from tests.waiting import eventually

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def manifests(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def test_every_example_file_is_covered() -> None:
    assert sorted(path.name for path in EXAMPLES.glob("*.yaml")) == [
        "00-namespaces-and-roles.yaml", "10-production-database.yaml", "20-self-service.yaml",
        "30-scheduled-request.yaml"]


@pytest.fixture
def applied(clients: dict[str, client.ApiClient], operator: InProcessOperator):
    admin = clients["admin"]
    apply(admin, manifests(EXAMPLES / "00-namespaces-and-roles.yaml"))
    # The examples bind the chart's ServiceAccount; the operator under test runs as the local one.
    apply(admin, [binding("vault", "test-operator-vault-access", VAULT_ACCESS_ROLE,
                          [("ServiceAccount", f"{OPERATOR_NAMESPACE}/{OPERATOR_SERVICE_ACCOUNT}")])])
    for name in ("10-production-database.yaml", "20-self-service.yaml"):
        apply(admin, manifests(EXAMPLES / name))
    yield admin
    for namespace in ("vault", "team-payments"):
        client.CoreV1Api(admin).delete_namespace(namespace, propagation_policy="Background")


def test_examples_apply_and_the_operator_accepts_them(applied: client.ApiClient,
                                                      clients: dict[str, client.ApiClient]) -> None:
    objects = client.CustomObjectsApi(applied)

    def ready(plural: str, name: str) -> bool:
        status = objects.get_namespaced_custom_object(GROUP, VERSION, "vault", plural, name).get("status") or {}
        return any(c["type"] == "Ready" and c["status"] == "True" for c in status.get("conditions") or [])

    for plural, name in (("safes", "prod-db"), ("safes", "reporting-readonly"),
                         ("accounts", "payments-db-admin"), ("accounts", "reporting-reader")):
        eventually(lambda p=plural, n=name: ready(p, n), timeout=30, what=f"{plural}/{name} Ready")

    # The scheduled request is filed by alice herself; the webhook stamps her as the requester.
    apply(clients["alice"], manifests(EXAMPLES / "30-scheduled-request.yaml"))
    def decided() -> dict | None:
        found = objects.get_namespaced_custom_object(
            GROUP, VERSION, "team-payments", "accessrequests", "payments-index-rebuild")
        return found if (found.get("status") or {}).get("phase", "Pending") != "Pending" else None

    request = eventually(decided, timeout=30, what="the scheduled request decided")
    assert request["spec"]["requester"] == "alice"
    # Years ahead of a Safe that allows one week: the operator says so rather than granting it.
    assert request["status"]["phase"] == "Rejected"
    assert request["status"]["rejectedReason"] == "ScheduleTooFarAhead"
