"""What restore accepts from a (signed, decrypted) export: an allow-list checked in full before anything is
applied. Each refusal is one line naming the first offending item, never a secret value (pure)."""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from strongroom.api.group import API_VERSION
from strongroom.recovery.document import DocumentError, manifest, parse_document
from strongroom.recovery.restore import Plan, Refused, action, plan

VAULT, TEAM = "vault-a", "team-a"
PASSWORD = "pw-s3cret"
ENCODED = base64.b64encode(PASSWORD.encode()).decode()
SAFE = {"apiVersion": API_VERSION, "kind": "Safe",
        "metadata": {"name": "prod-db", "namespace": VAULT, "labels": {"tier": "prod"}},
        "spec": {"description": "Production database",
                 "members": [{"groups": ["dev"], "validUntil": "2027-01-01T00:00:00Z"}],
                 "approvers": {"users": ["bob", "erin"], "groups": []},
                 "policy": {"requiredApprovals": 1, "allowedNamespaces": {"names": [TEAM]}, "defaultDuration": "60m"}}}
ACCOUNT = {"apiVersion": API_VERSION, "kind": "Account",
           "metadata": {"name": "db", "namespace": VAULT, "annotations": {"team.example/owner": "dba"}},
           "spec": {"safe": "prod-db", "username": "postgres", "host": "db.internal", "port": 5432,
                    "type": "postgresql", "secretRef": {"name": "db-admin"}, "fields": {"sslmode": "require"},
                    "rotation": {"provider": "postgresql", "onRelease": True},
                    "management": {"username": "admin", "secretRef": {"name": "db-manager"}}}}
REQUEST = {"apiVersion": API_VERSION, "kind": "AccessRequest", "metadata": {"name": "r1", "namespace": TEAM},
           "spec": {"account": {"namespace": VAULT, "name": "db"}, "requester": "alice", "reason": "fix"},
           "status": {"phase": "Released"}}
GRANT = {"apiVersion": API_VERSION, "kind": "Grant", "metadata": {"name": "r1", "namespace": TEAM},
         "spec": {"account": {"namespace": VAULT, "name": "db"}}, "status": {"phase": "Ended"}}
DOCUMENT: dict[str, Any] = {
    "documentVersion": 1, "created": "2026-03-01T09:00:00Z", "sourceCluster": "https://x", "exporter": "admin",
    "namespaces": [{"name": VAULT}],
    "safes": [SAFE], "accounts": [ACCOUNT],
    "secrets": [{"namespace": VAULT, "name": "db-admin", "type": "Opaque", "data": {"password": ENCODED}},
                {"namespace": VAULT, "name": "db-manager", "type": "kubernetes.io/basic-auth",
                 "labels": {"team": "dba"}, "data": {"username": "YWRtaW4=", "password": ENCODED}}],
    "accessRequests": [REQUEST], "grants": [GRANT],
}


def checked(document: dict[str, Any], only: set[str] | None = None) -> Plan:
    return plan(parse_document(json.dumps(document).encode()), only)


def changed(change: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    document = copy.deepcopy(DOCUMENT)
    change(document)
    return document


def refusal(document: dict[str, Any], only: set[str] | None = None) -> str:
    with pytest.raises(Refused) as refused:
        checked(document, only)
    message = str(refused.value)
    assert "\n" not in message and PASSWORD not in message and ENCODED not in message
    return message


def test_a_valid_document_becomes_its_safes_accounts_their_secrets_and_inert_history() -> None:
    planned = checked(DOCUMENT)
    assert planned.namespaces == [TEAM, VAULT]
    assert [(o["kind"], o["metadata"]["namespace"], o["metadata"]["name"]) for o in planned.objects] == [
        ("Secret", VAULT, "db-admin"), ("Secret", VAULT, "db-manager"), ("Safe", VAULT, "prod-db"),
        ("Account", VAULT, "db"), ("ConfigMap", TEAM, "strongroom-restored-history")]
    safe, account = planned.safes[0], planned.accounts[0]
    assert safe == SAFE and account == ACCOUNT  # what was validated is what is applied, unchanged
    assert planned.secrets[1]["type"] == "kubernetes.io/basic-auth" and planned.secrets[1]["metadata"]["labels"]
    assert planned.history_records == 2 and "Namespace" not in {o["kind"] for o in planned.objects}


def test_what_export_writes_from_a_live_object_is_accepted() -> None:
    live = copy.deepcopy(SAFE)
    live["metadata"].update(uid="u", resourceVersion="7", generation=3, creationTimestamp="2026-01-01T00:00:00Z",
                            managedFields=[{}], finalizers=["strongroom.dev/x"],
                            ownerReferences=[{"kind": "X", "name": "x", "uid": "u", "apiVersion": "v1"}],
                            labels={"tier": "prod", "app.kubernetes.io/managed-by": "Helm"},
                            annotations={"kubectl.kubernetes.io/last-applied-configuration": "{}"})
    live["status"] = {"accounts": 1}
    exported = manifest(live)
    assert exported == SAFE
    assert checked(changed(lambda d: d.update(safes=[exported]))).safes == [SAFE]


def secret(**fields: Any) -> dict[str, Any]:
    return {"namespace": VAULT, "name": "db-admin", "type": "Opaque", "data": {"password": ENCODED}, **fields}


def with_meta(kind: str, **metadata: Any) -> Callable[[dict[str, Any]], None]:
    def change(d: dict[str, Any]) -> None:
        d["safes" if kind == "Safe" else "accounts"][0]["metadata"].update(metadata)
    return change


DAEMONSET = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "evil", "namespace": VAULT},
             "spec": {"template": {"spec": {"hostPID": True, "containers": [{"name": "x", "image": "x"}]}}}}

REFUSED: dict[str, tuple[Callable[[dict[str, Any]], Any], str]] = {
    "daemonset": (lambda d: d["safes"].append(DAEMONSET), "DaemonSet vault-a/evil (apps/v1): the file's safes"),
    "daemonset-as-account": (lambda d: d["accounts"].insert(0, DAEMONSET), "DaemonSet vault-a/evil"),
    "account-among-safes": (lambda d: d["safes"].append(ACCOUNT), "Account vault-a/db"),
    "unreferenced-secret": (lambda d: d["secrets"].append(secret(name="cluster-admin-token")),
                            "Secret vault-a/cluster-admin-token: no Account in the file uses it"),
    "secret-in-another-namespace": (lambda d: d["secrets"].append(secret(namespace=TEAM)),
                                    "Secret team-a/db-admin: no Account in the file uses it"),
    "bootstrap-token-secret": (lambda d: d["secrets"][0].update(type="bootstrap.kubernetes.io/token"),
                               "Secret vault-a/db-admin: type bootstrap.kubernetes.io/token is not restorable"),
    "service-account-token": (lambda d: d["secrets"][0].update(type="kubernetes.io/service-account-token"),
                              "type kubernetes.io/service-account-token is not restorable"),
    "secret-value-not-base64": (lambda d: d["secrets"][0].update(data={"password": PASSWORD + "!"}),
                                "Secret vault-a/db-admin: the value of password is not base64"),
    "kube-system-namespace": (lambda d: d["namespaces"].append({"name": "kube-system"}),
                              "Namespace kube-system: namespace kube-system belongs to the cluster"),
    "safe-in-kube-system": (with_meta("Safe", namespace="kube-system"), "Safe kube-system/prod-db: namespace"),
    "secret-in-kube-node-lease": (lambda d: d["secrets"].append(secret(namespace="kube-node-lease")),
                                  "Secret kube-node-lease/db-admin: namespace kube-node-lease belongs to the cluster"),
    "history-in-kube-public": (lambda d: d["grants"][0]["metadata"].update(namespace="kube-public"),
                               "Grant kube-public/r1: namespace kube-public"),
    "pod-security-namespace-label": (
        lambda d: d["namespaces"][0].update(labels={"pod-security.kubernetes.io/enforce": "privileged"}),
        "Namespace vault-a: the file carries labels for it (pod-security.kubernetes.io/enforce)"),
    "any-namespace-label": (lambda d: d["namespaces"][0].update(labels={"strongroom.dev/deliver": "yes"}),
                            "Namespace vault-a: the file carries labels"),
    "invalid-safe-spec": (lambda d: d["safes"][0]["spec"]["policy"].update(requiredApprovals=-1),
                          "Safe vault-a/prod-db: invalid spec.policy.requiredApprovals"),
    "safe-without-spec": (lambda d: d["safes"][0].pop("spec"), "Safe vault-a/prod-db: invalid spec"),
    "invalid-account-spec": (lambda d: d["accounts"][0]["spec"].pop("secretRef"),
                             "Account vault-a/db: invalid spec.secretRef"),
    "other-api-version": (lambda d: d["safes"][0].update(apiVersion="strongroom.dev/v1"),
                          "Safe vault-a/prod-db (strongroom.dev/v1)"),
    "owner-references": (with_meta("Safe", ownerReferences=[{"kind": "Node", "name": "n", "uid": "u"}]),
                         "Safe vault-a/prod-db: metadata.ownerReferences is not restorable"),
    "finalizers": (with_meta("Account", finalizers=["example.com/hold"]),
                   "Account vault-a/db: metadata.finalizers is not restorable"),
    "reserved-label": (with_meta("Safe", labels={"pod-security.kubernetes.io/enforce": "privileged"}),
                       "Safe vault-a/prod-db: label pod-security.kubernetes.io/enforce is in a Kubernetes-reserved"),
    "reserved-annotation": (with_meta("Account", annotations={"k8s.io/anything": "x"}),
                            "Account vault-a/db: annotation k8s.io/anything"),
    "reserved-secret-label": (lambda d: d["secrets"][0].update(labels={"node.kubernetes.io/x": "y"}),
                              "Secret vault-a/db-admin: label node.kubernetes.io/x"),
    "status-on-a-safe": (lambda d: d["safes"][0].update(status={"accounts": 9}),
                         "Safe vault-a/prod-db: status is not restorable"),
    "rolebinding-as-history": (lambda d: d["grants"].append({**GRANT, "apiVersion": "rbac.authorization.k8s.io/v1",
                                                             "kind": "RoleBinding"}),
                               "RoleBinding team-a/r1: the file's grants may hold only"),
    "invalid-name": (with_meta("Safe", name="../etc"), "Safe vault-a/../etc: not a valid object name"),
}


@pytest.mark.parametrize("case", REFUSED)
def test_restore_refuses_the_whole_file_naming_the_first_offending_item(case: str) -> None:
    change, message = REFUSED[case]
    assert message in refusal(changed(change))


def test_the_whole_file_is_checked_even_when_restoring_one_namespace() -> None:
    bad = changed(lambda d: d["secrets"].append(secret(namespace=TEAM)))
    assert "Secret team-a/db-admin" in refusal(bad, {VAULT})
    selected = checked(DOCUMENT, {VAULT})
    assert selected.namespaces == [VAULT] and selected.history == [] and len(selected.secrets) == 2


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d.update(daemonSets=[DAEMONSET]), "daemonSets: Extra inputs are not permitted"),
    (lambda d: d["secrets"][0].update(immutable=False), "secrets.0.immutable"),
    (lambda d: d["namespaces"][0].update(annotations={"a": "b"}), "namespaces.0.annotations"),
    (lambda d: d.update(documentVersion=2), "document version 2"),
])
def test_a_document_with_fields_this_version_does_not_know_is_refused(change: Callable[[dict[str, Any]], Any],
                                                                      message: str) -> None:
    with pytest.raises(DocumentError, match=message) as refused:
        parse_document(json.dumps(changed(change)).encode())
    assert "\n" not in str(refused.value) and ENCODED not in str(refused.value)


def test_dry_run_compares_what_restore_would_write_with_what_is_there() -> None:
    planned = checked(DOCUMENT)
    safe, secret_ = planned.safes[0], planned.secrets[0]
    assert action(safe, None) == "create"
    live_safe = copy.deepcopy(safe)
    live_safe["spec"]["policy"]["approvalTimeout"] = "24h"  # a server default the file leaves out
    live_safe["metadata"].update(uid="u", labels={"tier": "prod", "kubernetes.io/other": "x"})
    assert action(safe, live_safe) == "unchanged"
    live_safe["spec"]["description"] = "edited since"
    assert action(safe, live_safe) == "update"
    live_secret = copy.deepcopy(secret_)
    assert action(secret_, live_secret) == "unchanged"
    live_secret["data"] = {"password": base64.b64encode(b"rotated").decode()}
    assert action(secret_, live_secret) == "update"
    live_secret["data"] = {**secret_["data"], "extra": "eA=="}
    assert action(secret_, live_secret) == "update"
    assert action(secret_, {**secret_, "type": "kubernetes.io/basic-auth"}) == "update"
