"""The generated CRDs: up to date, structural, and matching what the models parse and write."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from strongroom.api import KINDS, AccessRequest, Account, Grant, Resource, Safe
from strongroom.codegen import crds as crdgen

CRDS = Path(__file__).resolve().parents[2] / "crds"
RENDERED = crdgen.render_all()
FORBIDDEN = {"$ref", "$defs", "anyOf", "allOf", "oneOf", "not", "title", "const", "propertyNames"}


def test_the_crds_in_the_repository_are_generated_from_the_models() -> None:
    drifted = crdgen.drifted(CRDS, RENDERED)
    assert not drifted, f"{', '.join(drifted)} out of date: run `python -m strongroom.codegen.crds`"


def test_check_mode_names_the_drifted_files_and_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert crdgen.main(["--out", str(tmp_path), "--check"]) == 1
    assert "safes.strongroom.dev.yaml" in capsys.readouterr().err
    assert crdgen.main(["--out", str(tmp_path)]) == 0
    (tmp_path / "widgets.strongroom.dev.yaml").write_text("left over from a removed kind")
    assert crdgen.main(["--out", str(tmp_path), "--check"]) == 1
    assert "widgets.strongroom.dev.yaml" in capsys.readouterr().err
    assert crdgen.main(["--out", str(tmp_path)]) == 0
    assert crdgen.main(["--out", str(tmp_path), "--check"]) == 0


def test_generating_twice_gives_the_same_text() -> None:
    assert crdgen.render_all() == RENDERED


def nodes(node: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    yield path, node
    for name, child in node.get("properties", {}).items():
        yield from nodes(child, f"{path}.{name}")
    if isinstance(node.get("items"), dict):
        yield from nodes(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        yield from nodes(node["additionalProperties"], f"{path}{{}}")


def schema_of(kind: type[Resource]) -> dict[str, Any]:
    crd = yaml.safe_load(RENDERED[f"{kind.crd.plural}.strongroom.dev.yaml"])
    return crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.__name__)
def test_every_schema_node_is_structural(kind: type[Resource]) -> None:
    for path, node in nodes(schema_of(kind)):
        assert "type" in node, f"{path} has no type"
        assert not FORBIDDEN & node.keys(), f"{path} uses {FORBIDDEN & node.keys()}"
        assert ("properties" in node) <= (node["type"] == "object"), path
        assert ("items" in node) == (node["type"] == "array"), path
        assert not ("properties" in node and "additionalProperties" in node), path


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.__name__)
def test_every_field_is_documented(kind: type[Resource]) -> None:
    for path, node in nodes(schema_of(kind)):
        if path.count(".") >= 2 and not path.endswith(("[]", "{}")):  # the fields of spec and status
            assert node.get("description"), f"{path} has no description"


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.__name__)
def test_every_string_list_and_map_is_bounded_so_cel_rules_stay_cheap(kind: type[Resource]) -> None:
    for path, node in nodes(schema_of(kind)):
        if path.startswith((".spec", ".status")):
            bounded = {"string": {"maxLength", "enum", "format"}, "array": {"maxItems"}}.get(node["type"], set())
            if node["type"] == "object" and "additionalProperties" in node:
                bounded = {"maxProperties"}
            assert not bounded or bounded & node.keys(), f"{path} is unbounded"


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.__name__)
def test_list_map_keys_are_required_fields_of_the_items(kind: type[Resource]) -> None:
    for path, node in nodes(schema_of(kind)):
        for key in node.get("x-kubernetes-list-map-keys", []):
            assert key in node["items"].get("required", []), f"{path}: list-map key {key} is not required"


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.__name__)
def test_the_envelope_requires_spec_and_keeps_metadata_plain(kind: type[Resource]) -> None:
    schema = schema_of(kind)
    assert schema["required"] == ["spec"]
    assert schema["properties"]["metadata"] == {"type": "object"}
    assert set(schema["properties"]) == {"apiVersion", "kind", "metadata", "spec", "status"}


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.__name__)
def test_names_status_subresource_and_printer_columns(kind: type[Resource]) -> None:
    crd = yaml.safe_load(RENDERED[f"{kind.crd.plural}.strongroom.dev.yaml"])
    spec = crd["spec"]
    assert spec["scope"] == "Namespaced"
    assert spec["names"]["categories"] == ["strongroom"]
    [version] = spec["versions"]
    assert (version["name"], version["served"], version["storage"]) == ("v1alpha1", True, True)
    assert version["subresources"] == {"status": {}}
    schema = version["schema"]["openAPIV3Schema"]
    for column in version["additionalPrinterColumns"]:
        path = column["jsonPath"].split("[")[0].strip(".").split(".")
        if path[0] == "metadata":
            continue
        node = schema
        for part in path:
            assert part in node.get("properties", {}), f"printer column {column['name']} points at nothing"
            node = node["properties"][part]


def test_short_names_are_the_documented_ones() -> None:
    assert {kind.crd.short_names for kind in KINDS} == {("safe",), ("acct",), ("areq",), ("grant",)}


def test_a_json_schema_union_is_refused_rather_than_guessed() -> None:
    with pytest.raises(crdgen.SchemaError, match="unions"):
        crdgen.to_structural({"anyOf": [{"type": "string"}, {"type": "integer"}]}, {})
    with pytest.raises(crdgen.SchemaError, match="no CRD equivalent"):
        crdgen.to_structural({"type": "object", "propertyNames": {"maxLength": 3}}, {})


# --- round trips: objects as the API server returns them ------------------------------------------

META = {
    "name": "x",
    "namespace": "vault",
    "uid": "1b4e28ba",
    "resourceVersion": "42",
    "generation": 3,
    "creationTimestamp": "2025-06-01T09:59:58Z",
    "managedFields": [{"manager": "kubectl"}],
}
SAFE = {
    "apiVersion": "strongroom.dev/v1alpha1",
    "kind": "Safe",
    "metadata": META,
    "spec": {
        "description": "Production databases",
        "blocked": False,
        "members": [
            {"groups": ["dba"], "schedule": "office"},
            {"users": ["alice"], "validFrom": "2025-01-01T00:00:00Z", "validUntil": "2030-01-01T00:00:00Z"},
        ],
        "approvers": {"groups": ["dba-leads"], "users": ["bob"]},
        "policy": {
            "requiredApprovals": 2,
            "requireReason": True,
            "requireTicket": False,
            "defaultDuration": "60m",
            "maxDuration": "8h",
            "approvalTimeout": "24h",
            "exclusiveCheckout": True,
            "allowScheduled": True,
            "maxScheduleAhead": "7d",
            "maxActiveGrantsPerUser": 2,
            "allowedNamespaces": {
                "names": ["team"],
                "selector": {
                    "matchLabels": {"tier": "prod"},
                    "matchExpressions": [{"key": "env", "operator": "In", "values": ["prod"]}],
                },
            },
        },
        "schedules": [
            {
                "name": "office",
                "timeZone": "Europe/Berlin",
                "windows": [{"days": ["Mon", "Fri"], "from": "08:00", "to": "18:00"}],
            }
        ],
    },
    "status": {
        "observedGeneration": 3,
        "accounts": 1,
        "pendingRequests": 0,
        "activeGrants": 1,
        "conditions": [
            {
                "type": "Ready",
                "status": "True",
                "reason": "Valid",
                "message": "",
                "lastTransitionTime": "2025-06-01T10:00:00Z",
                "observedGeneration": 3,
            }
        ],
    },
}
ACCOUNT = {
    "apiVersion": "strongroom.dev/v1alpha1",
    "kind": "Account",
    "metadata": META,
    "spec": {
        "safe": "prod-db",
        "username": "postgres",
        "host": "pg.example.com",
        "port": 5432,
        "type": "postgresql",
        "secretRef": {"name": "pg-admin", "passwordKey": "password"},
        "fields": {"url": "postgres://pg.example.com:5432/app"},
    },
    "status": {"requestRequired": True, "activeHolder": "alice", "activeGrant": "fix-incident"},
}
ACCESS_REQUEST = {
    "apiVersion": "strongroom.dev/v1alpha1",
    "kind": "AccessRequest",
    "metadata": {**META, "namespace": "team"},
    "spec": {
        "account": {"namespace": "vault", "name": "pg-admin"},
        "reason": "incident 42",
        "ticket": "INC-42",
        "duration": "1h30m",
        "requester": "alice",
        "requesterGroups": ["dba", "system:authenticated"],
        "requesterSignature": "c2lnbmVk",
        "release": False,
    },
    "status": {
        "phase": "Active",
        "approvalsRequired": 2,
        "approvalsReceived": 2,
        "reviews": [
            {"user": "bob", "decision": "Approve", "time": "2025-06-01T10:01:00Z", "signature": "s1"},
            {
                "user": "erin",
                "groups": ["dba-leads"],
                "decision": "Approve",
                "comment": "ok, be quick",
                "time": "2025-06-01T10:02:00.250000Z",
                "notAfter": "2025-06-01T11:00:00Z",
                "signature": "s2",
            },
        ],
        "notBefore": "2025-06-01T10:02:01Z",
        "notAfter": "2025-06-01T11:00:00Z",
        "grant": "fix-incident",
        "secretName": "fix-incident",
        "policyHash": "1c4701bccf5b3660",
        "history": [{"time": "2025-06-01T10:00:00Z", "actor": "alice", "event": "Created", "message": ""}],
        "createdAt": "2025-06-01T10:00:00Z",
        "decidedAt": "2025-06-01T10:02:01Z",
        "activatedAt": "2025-06-01T10:02:01Z",
    },
}
GRANT = {
    "apiVersion": "strongroom.dev/v1alpha1",
    "kind": "Grant",
    "metadata": {**META, "namespace": "team"},
    "spec": {
        "account": {"namespace": "vault", "name": "pg-admin"},
        "subject": {"user": "alice", "groups": ["dba"]},
        "notBefore": "2025-06-01T10:02:01Z",
        "notAfter": "2025-06-01T11:00:00Z",
        "secretName": "fix-incident",
        "source": {"accessRequest": "fix-incident", "direct": False},
    },
    "status": {
        "phase": "Active",
        "secretWrittenAt": "2025-06-01T10:02:01Z",
        "history": [
            {
                "time": "2025-06-01T10:02:01Z",
                "actor": "system:serviceaccount:strongroom:operator",
                "event": "SecretWritten",
                "message": "Secret fix-incident written",
            }
        ],
    },
}


@pytest.mark.parametrize(
    ("kind", "obj"),
    [(Safe, SAFE), (Account, ACCOUNT), (AccessRequest, ACCESS_REQUEST), (Grant, GRANT)],
    ids=["Safe", "Account", "AccessRequest", "Grant"],
)
def test_an_object_read_from_the_api_dumps_back_exactly_but_its_managed_fields(
    kind: type[Resource], obj: dict[str, Any]
) -> None:
    # managedFields are the API server's bookkeeping, often most of an object's size: not kept in memory.
    bookkeeping = {key: value for key, value in obj["metadata"].items() if key != "managedFields"}
    assert bookkeeping != obj["metadata"]
    assert kind.from_object(obj).to_object() == {**obj, "metadata": bookkeeping}


def test_fields_this_version_does_not_know_are_ignored_when_parsing() -> None:
    newer = {**ACCOUNT, "spec": {**ACCOUNT["spec"], "checkoutNotes": {"onRelease": True}}}
    assert "checkoutNotes" not in Account.from_object(newer).to_object()["spec"]


def test_an_object_without_status_gets_the_initial_one() -> None:
    fresh = AccessRequest.from_object({**ACCESS_REQUEST, "status": None})
    assert fresh.status.phase == "Pending" and fresh.status.reviews == []
    assert (
        "status"
        not in AccessRequest.from_object({k: v for k, v in ACCESS_REQUEST.items() if k != "status"}).to_object()
    )


def test_an_object_of_another_version_or_kind_is_refused() -> None:
    with pytest.raises(ValueError, match=r"apiVersion must be strongroom\.dev/v1alpha1"):
        Grant.from_object({**GRANT, "apiVersion": "strongroom.dev/v1"})
    with pytest.raises(ValueError, match="Grant"):
        Grant.from_object({**GRANT, "kind": "Safe"})


def test_objects_built_in_code_carry_api_version_and_kind() -> None:
    grant = Grant.model_validate({"spec": GRANT["spec"]})
    assert grant.to_object() == {"apiVersion": "strongroom.dev/v1alpha1", "kind": "Grant", "spec": GRANT["spec"]}


def test_the_leader_fence_is_the_operators_own_kind_without_status_or_category() -> None:
    crd = yaml.safe_load(RENDERED["leaderfences.strongroom.dev.yaml"])
    [version] = crd["spec"]["versions"]
    assert "subresources" not in version and crd["spec"]["names"]["categories"] == []
    assert set(version["schema"]["openAPIV3Schema"]["properties"]) == {"apiVersion", "kind", "metadata", "spec"}
