"""Flattening an export into tables, and the audit report's rows (pure)."""

from __future__ import annotations

import base64
import csv
import io
from datetime import UTC, datetime

from strongroom.api.accessrequest import AccessRequest
from strongroom.recovery.audit import report_rows
from strongroom.recovery.document import ExportDocument, SecretRecord, manifest
from strongroom.recovery.restore import history_configmaps, select
from strongroom.recovery.tables import tables, to_csv, write_csv_dir

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def request(name: str, requester: str, phase: str, reviews: list[dict], **status: object) -> dict:
    return {"apiVersion": "strongroom.dev/v1alpha1", "kind": "AccessRequest",
            "metadata": {"name": name, "namespace": "team", "uid": "u", "resourceVersion": "9",
                         "creationTimestamp": "2026-03-01T09:00:00Z", "managedFields": [{}]},
            "spec": {"account": {"namespace": "vault", "name": "db"}, "requester": requester, "reason": "fix"},
            "status": {"phase": phase, "reviews": reviews, "createdAt": "2026-03-01T09:00:00Z", **status}}


REVIEW = {"user": "bob", "decision": "Approve", "time": "2026-03-01T09:01:00Z"}
DENY = {"user": "carol", "decision": "Deny", "time": "2026-03-01T09:01:00Z"}
# As the operator leaves them: the requester's seal honoured, bob's approval counted.
VERIFIED = {"type": "UnverifiedRequester", "status": "False", "reason": "Verified", "message": "",
            "lastTransitionTime": "2026-03-01T09:00:01Z"}
FINISHED = request("r1", "alice", "Released", [REVIEW], activatedAt="2026-03-01T09:01:01Z",
                   finishedAt="2026-03-01T09:20:00Z", grant="r1", approvalsReceived=1,
                   decidedAt="2026-03-01T09:01:00Z", conditions=[VERIFIED])
DENIED = request("r2", "erin", "Denied", [DENY], decidedAt="2026-03-01T09:01:00Z")

DOC = ExportDocument(
    created=T0, source_cluster="https://x", exporter="admin",
    safes=[{"apiVersion": "strongroom.dev/v1alpha1", "kind": "Safe", "metadata": {"name": "prod", "namespace": "vault"},
            "spec": {"members": [{"groups": ["dev"]}], "approvers": {"users": ["bob"]}}}],
    accounts=[{"apiVersion": "strongroom.dev/v1alpha1", "kind": "Account",
               "metadata": {"name": "db", "namespace": "vault"},
               "spec": {"safe": "prod", "username": "postgres", "secretRef": {"name": "db-admin"}}}],
    secrets=[SecretRecord(namespace="vault", name="db-admin",
                          data={"password": base64.b64encode(b"pw, with \"quotes\"").decode()})],
    access_requests=[manifest(FINISHED, keep_status=True), manifest(DENIED, keep_status=True)],
)


def test_manifest_drops_what_the_api_server_sets() -> None:
    meta = manifest(FINISHED)["metadata"]
    assert meta == {"name": "r1", "namespace": "team"}
    assert "status" not in manifest(FINISHED) and manifest(FINISHED, keep_status=True)["status"]["phase"] == "Released"


def test_accounts_table_carries_the_decoded_password_and_survives_csv_quoting() -> None:
    columns, rows = tables(DOC)["accounts"]
    parsed = list(csv.DictReader(io.StringIO(to_csv(columns, rows))))
    assert parsed == [{**rows[0]}] and parsed[0]["password"] == 'pw, with "quotes"'
    assert tables(DOC)["safes"][1][0]["members"] == "group:dev"


def test_csv_directory_has_one_private_file_per_kind(tmp_path) -> None:
    written = write_csv_dir(DOC, tmp_path / "out")
    assert sorted(p.name for p in written) == ["accessrequests.csv", "accounts.csv", "grants.csv", "safes.csv",
                                               "secrets.csv"]
    assert all(p.stat().st_mode & 0o077 == 0 for p in written)


def test_report_rows_say_who_asked_who_decided_and_when_access_ran() -> None:
    rows = report_rows([(AccessRequest.from_object(FINISHED), "live"), (AccessRequest.from_object(DENIED), "live")],
                       {("vault", "db"): "prod"})
    first, second = rows
    assert (first["requester"], first["approvedBy"], first["safe"], first["accessStart"], first["accessEnd"]) == (
        "alice", "bob", "prod", "2026-03-01T09:01:01Z", "2026-03-01T09:20:00Z")
    assert (second["deniedBy"], second["accessStart"]) == ("carol", "")


def test_report_filters_by_user_account_safe_and_period() -> None:
    pairs = [(AccessRequest.from_object(FINISHED), "live"), (AccessRequest.from_object(DENIED), "restored")]
    safes = {("vault", "db"): "prod"}
    assert [r["request"] for r in report_rows(pairs, safes, user="erin")] == ["r2"]
    assert len(report_rows(pairs, safes, account="vault/db")) == 2
    assert report_rows(pairs, safes, safe="other") == []
    assert report_rows(pairs, safes, since=datetime(2026, 3, 2, tzinfo=UTC)) == []
    assert len(report_rows(pairs, safes, until=datetime(2026, 3, 2, tzinfo=UTC))) == 2


def test_selecting_a_namespace_keeps_only_what_lives_there() -> None:
    vault = select(DOC, {"vault"})
    assert (len(vault.safes), len(vault.accounts), len(vault.secrets), vault.access_requests) == (1, 1, 1, [])
    assert select(DOC, set()) is DOC


def test_history_is_kept_as_one_inert_configmap_per_namespace() -> None:
    (configmap,) = history_configmaps(DOC)
    assert configmap["metadata"]["namespace"] == "team"
    assert configmap["metadata"]["labels"] == {"strongroom.dev/restored-history": "true"}
    assert '"r1"' in configmap["data"]["accessrequests.json"] and "password" not in str(configmap)
