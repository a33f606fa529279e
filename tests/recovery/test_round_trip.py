"""Disaster recovery on the real control plane, through the real `strongroom` executable: export as
admin, lose the namespaces, restore, and find every Safe, Account and credential again; refusals for
everyone else and for every damaged file; the auditor's report without a credential value."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from strongroom.api.group import GROUP, VERSION
from strongroom.codegen import rbac
from strongroom.devcluster.sample import binding
from strongroom.kube.client import apply
from strongroom.recovery import envelope
from strongroom.recovery.restore import HISTORY_CONFIGMAP
from tests.conftest import Cluster, OperatorProcess
from tests.waiting import eventually
from tests.world import World

STRONGROOM = str(Path(sys.executable).with_name("strongroom"))


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([STRONGROOM, *map(str, args)], capture_output=True, text=True, timeout=120, check=False)


def ok(*args: str | Path) -> str:
    done = run(*args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def phase(world: World, name: str) -> str:
    return (world.get("AccessRequest", name).get("status") or {}).get("phase", "")


def snapshot(admin: client.ApiClient, namespaces: list[str]) -> dict:
    """Every Safe and Account spec, every Secret's data and the namespaces' labels, as comparable data."""
    objects, core = client.CustomObjectsApi(admin), client.CoreV1Api(admin)
    seen: dict = {}
    for ns in namespaces:
        for plural in ("safes", "accounts"):
            for item in objects.list_namespaced_custom_object(GROUP, VERSION, ns, plural)["items"]:
                seen[(plural, ns, item["metadata"]["name"])] = (item["spec"], item["metadata"].get("labels"))
        for secret in core.list_namespaced_secret(ns).items:
            seen[("secret", ns, secret.metadata.name)] = (secret.type, secret.data)
        seen[("namespace", ns)] = core.read_namespace(ns).metadata.labels
    return seen


def gone(admin: client.ApiClient, namespace: str) -> bool:
    try:
        client.CoreV1Api(admin).read_namespace(namespace)
    except ApiException as exc:
        return exc.status == 404
    return False


def test_export_lose_everything_restore_and_compare(  # noqa: PLR0915  (one story, told in order)
    operator: OperatorProcess, make_world: Callable[..., World], cluster: Cluster, tmp_path: Path
) -> None:
    admin_cfg = cluster.kubeconfig("admin")
    first: World = make_world()
    second: World = make_world(description="Payments", policy={"requiredApprovals": 0})
    admin = first.clients["admin"]
    # a second Account, of another type, in the first vault
    client.CoreV1Api(admin).create_namespaced_secret(first.vault, client.V1Secret(
        metadata=client.V1ObjectMeta(name="ssh-key", labels={"team": "ops"}),
        string_data={"password": "ssh-pw-7c1e", "private-key": "-----BEGIN KEY-----\nabc\n"}))
    first.create("admin", "Account", {"safe": first.safe, "username": "deploy", "host": "bastion", "type": "ssh",
                                      "secretRef": {"name": "ssh-key"}}, name="bastion", namespace=first.vault)
    # a finished request (approved by bob, then released) and an active one
    done = first.request("alice", duration="30m")["metadata"]["name"]
    first.review("bob", done, comment="ok")
    eventually(lambda: phase(first, done) == "Active", what="Active")
    first.patch("alice", "AccessRequest", done, {"spec": {"release": True}})
    eventually(lambda: phase(first, done) == "Released", what="Released")
    live = second.request("erin", duration="30m", reason="deploy payments")["metadata"]["name"]
    eventually(lambda: phase(second, live) == "Active", what="Active")

    ok("keygen", "--out", tmp_path / "dr")
    assert (tmp_path / "dr.key").stat().st_mode & 0o777 == 0o600
    namespaces = [first.vault, first.team, second.vault, second.team]
    vaults = [first.vault, second.vault]
    before = snapshot(admin, vaults)
    export = tmp_path / "cluster.srx"
    out = ok("export", "--kubeconfig", admin_cfg, "--recipient", tmp_path / "dr.pub", "-o", export)
    assert "exported" in out
    data = export.read_bytes()
    assert first.password.encode() not in data and b"ssh-pw-7c1e" not in data
    events = client.CoreV1Api(admin).list_namespaced_event(first.vault).items
    assert any(e.reason == "Exported" and "by admin" in e.message for e in events)

    # decrypt offline: JSON and one CSV per kind
    opened = json.loads(ok("decrypt", export, "--key", tmp_path / "dr.key", "-o", "json"))
    assert opened["header"]["exporter"] == "admin" and opened["header"]["format"] == 1
    doc = opened["document"]
    assert {s["metadata"]["name"] for s in doc["safes"] if s["metadata"]["namespace"] in vaults} == {"prod-db"}
    requests = {r["metadata"]["name"]: r for r in doc["accessRequests"]}
    assert requests[done]["status"]["phase"] == "Released" and requests[live]["status"]["phase"] == "Active"
    ok("decrypt", export, "--key", tmp_path / "dr.key", "-o", "csv", "--out-dir", tmp_path / "csv")
    accounts = list(csv.DictReader((tmp_path / "csv" / "accounts.csv").open()))
    mine = {(a["namespace"], a["name"]): a for a in accounts}
    assert mine[(first.vault, "db")]["password"] == first.password
    assert mine[(first.vault, "bastion")]["password"] == "ssh-pw-7c1e"
    rows = {r["request"]: r for r in csv.DictReader((tmp_path / "csv" / "accessrequests.csv").open())}
    assert rows[done]["approvedBy"] == "bob" and rows[done]["phase"] == "Released" and rows[done]["accessEnd"]
    assert rows[live]["requester"] == "erin" and rows[live]["safe"] == "prod-db"

    # the cluster's vaults are lost
    for ns in namespaces:
        client.CoreV1Api(admin).delete_namespace(ns)
    for ns in namespaces:
        eventually(lambda ns=ns: gone(admin, ns), timeout=60, what=f"namespace {ns} deleted")

    ok("restore", export, "--key", tmp_path / "dr.key", "--kubeconfig", admin_cfg, "-n", first.vault)
    assert {k: v for k, v in before.items() if first.vault in k} == snapshot(admin, [first.vault])
    assert gone(admin, second.vault)
    for _ in range(2):  # everything; the second run changes nothing
        ok("restore", export, "--key", tmp_path / "dr.key", "--kubeconfig", admin_cfg)
        assert snapshot(admin, vaults) == before
    objects = client.CustomObjectsApi(admin)
    for ns in (first.team, second.team):  # history as history: no live request or Grant came back
        assert objects.list_namespaced_custom_object(GROUP, VERSION, ns, "accessrequests")["items"] == []
        assert objects.list_namespaced_custom_object(GROUP, VERSION, ns, "grants")["items"] == []
    history = client.CoreV1Api(admin).read_namespaced_config_map(HISTORY_CONFIGMAP, first.team)
    assert done in history.data["accessrequests.json"]

    # the auditor's report reads the restored history (once her binding is back) and holds no credential
    apply(admin, [binding(first.team, "strongroom-auditors", rbac.AUDITOR_ROLE, [("Group", "auditors")])])
    audrey = cluster.kubeconfig("audrey")
    for output in ("json", "csv", "table"):
        text = ok("report", "--kubeconfig", audrey, "-n", first.team, "-o", output)
        assert done in text and first.password not in text and "ssh-pw-7c1e" not in text
    reported = json.loads(ok("report", "--kubeconfig", audrey, "-n", first.team, "-o", "json", "--user", "alice"))
    assert [(r["request"], r["approvedBy"], r["source"]) for r in reported] == [(done, "bob", "restored")]


def test_damaged_files_and_wrong_keys_are_refused_in_one_line_with_no_output(
    operator: OperatorProcess, world: World, cluster: Cluster, tmp_path: Path
) -> None:
    ok("keygen", "--out", tmp_path / "dr", "--type", "rsa")
    ok("keygen", "--out", tmp_path / "other")
    export = tmp_path / "x.srx"
    ok("export", "--kubeconfig", cluster.kubeconfig("admin"), "--recipient", tmp_path / "dr.pub", "-o", export)
    data = export.read_bytes()
    _, associated, _ = envelope.read_header(data)
    flipped = bytearray(data)
    flipped[len(associated) + 10] ^= 0x40
    cases = {
        "truncated": (data[: len(data) // 2], "dr", "truncated"),
        "tampered": (bytes(flipped), "dr", "integrity"),
        "version": (data.replace(b'"format": 1', b'"format": 9'), "dr", "format version 9"),
        "wrongkey": (data, "other", "not for this private key"),
    }
    for name, (content, key, message) in cases.items():
        path = tmp_path / f"{name}.srx"
        path.write_bytes(content)
        for output in ("json", "csv"):
            refused = run("decrypt", path, "--key", tmp_path / f"{key}.key", "-o", output,
                          "--out-dir", tmp_path / f"{name}-csv")
            assert refused.returncode == 1 and refused.stdout == "", name
            assert refused.stderr.startswith("error: ") and message in refused.stderr, refused.stderr
            assert refused.stderr.count("\n") == 1
            assert not (tmp_path / f"{name}-csv").exists()


def test_only_admins_export(world: World, cluster: Cluster, tmp_path: Path) -> None:
    ok("keygen", "--out", tmp_path / "dr")
    for user in ("alice", "dave", "audrey"):
        out = tmp_path / f"{user}.srx"
        refused = run("export", "--kubeconfig", cluster.kubeconfig(user), "--recipient", tmp_path / "dr.pub",
                      "-o", out)
        assert refused.returncode == 3, refused.stderr
        assert refused.stderr.startswith(f"error: {user} may not export") and refused.stderr.count("\n") == 1
        assert not out.exists()
