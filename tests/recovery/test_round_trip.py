"""Disaster recovery on the real control plane, through the real `strongroom` executable: export as
admin (signed), lose the namespaces, restore, and find every Safe, Account and credential again; refusals
for everyone else, for every damaged, unsigned or foreign file and for anything outside restore's
allow-list, with nothing applied; a dry run that applies nothing; the auditor's report without a
credential value."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from strongroom.api.group import GROUP, VERSION
from strongroom.codegen import rbac
from strongroom.devcluster.sample import SECRET, binding
from strongroom.kube.client import apply
from strongroom.recovery import envelope, keys
from strongroom.recovery.restore import HISTORY_CONFIGMAP
from tests.conftest import Cluster
from tests.recovery.forge import unsigned_v1
from tests.waiting import eventually
from tests.world import World

if TYPE_CHECKING:  # the harness is being reworked; only the fixture's type is needed here
    from tests.conftest import OperatorProcess

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


def exists(read: Callable[[], object]) -> bool:
    try:
        read()
    except ApiException as exc:
        if exc.status == 404:
            return False
        raise
    return True


def signed_export(cluster: Cluster, tmp_path: Path) -> Path:
    """Keys dr (recipient), signer and mallory (Ed25519), and an export of the cluster by admin."""
    for prefix, kind in (("dr", "x25519"), ("signer", "ed25519"), ("mallory", "ed25519")):
        ok("keygen", "--type", kind, "--out", tmp_path / prefix)
    export = tmp_path / "x.srx"
    ok("export", "--kubeconfig", cluster.kubeconfig("admin"), "--recipient", tmp_path / "dr.pub", "--sign",
       tmp_path / "signer.key", "-o", export)
    return export


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
    ok("keygen", "--type", "ed25519", "--out", tmp_path / "signer")
    assert (tmp_path / "dr.key").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "signer.key").stat().st_mode & 0o777 == 0o600
    namespaces = [first.vault, first.team, second.vault, second.team]
    vaults = [first.vault, second.vault]
    before = snapshot(admin, vaults)
    export = tmp_path / "cluster.srx"
    out = ok("export", "--kubeconfig", admin_cfg, "--recipient", tmp_path / "dr.pub", "--sign",
             tmp_path / "signer.key", "-o", export)
    assert "exported" in out
    trust = ("--key", tmp_path / "dr.key", "--trust", tmp_path / "signer.pub")
    data = export.read_bytes()
    assert first.password.encode() not in data and b"ssh-pw-7c1e" not in data
    events = client.CoreV1Api(admin).list_namespaced_event(first.vault).items
    assert any(e.reason == "Exported" and "by admin" in e.message for e in events)

    # decrypt offline: JSON and one CSV per kind
    opened = json.loads(ok("decrypt", export, *trust, "-o", "json"))
    assert opened["header"]["exporter"] == "admin" and opened["header"]["format"] == 2
    assert opened["header"]["signer"]["verified"] is True
    doc = opened["document"]
    assert {s["metadata"]["name"] for s in doc["safes"] if s["metadata"]["namespace"] in vaults} == {"prod-db"}
    requests = {r["metadata"]["name"]: r for r in doc["accessRequests"]}
    assert requests[done]["status"]["phase"] == "Released" and requests[live]["status"]["phase"] == "Active"
    ok("decrypt", export, *trust, "-o", "csv", "--out-dir", tmp_path / "csv")
    accounts = list(csv.DictReader((tmp_path / "csv" / "accounts.csv").open()))
    mine = {(a["namespace"], a["name"]): a for a in accounts}
    assert mine[(first.vault, "db")]["password"] == first.password
    assert mine[(first.vault, "bastion")]["password"] == "ssh-pw-7c1e"
    rows = {r["request"]: r for r in csv.DictReader((tmp_path / "csv" / "accessrequests.csv").open())}
    assert rows[done]["approvedBy"] == "bob", rows[done]["ignoredReviews"]  # reviewed within decidedAt's second
    assert rows[done]["phase"] == "Released" and rows[done]["accessEnd"]
    assert rows[live]["requester"] == "erin" and rows[live]["safe"] == "prod-db"

    # the cluster's vaults are lost
    for ns in namespaces:
        client.CoreV1Api(admin).delete_namespace(ns)
    for ns in namespaces:
        eventually(lambda ns=ns: gone(admin, ns), timeout=60, what=f"namespace {ns} deleted")

    ok("restore", export, *trust, "--kubeconfig", admin_cfg, "-n", first.vault)
    assert {k: v for k, v in before.items() if first.vault in k} == snapshot(admin, [first.vault])
    assert gone(admin, second.vault)
    for _ in range(2):  # everything; the second run changes nothing
        ok("restore", export, *trust, "--kubeconfig", admin_cfg)
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
    ok("keygen", "--type", "ed25519", "--out", tmp_path / "signer")
    ok("keygen", "--type", "ed25519", "--out", tmp_path / "mallory")
    export = tmp_path / "x.srx"
    ok("export", "--kubeconfig", cluster.kubeconfig("admin"), "--recipient", tmp_path / "dr.pub", "--sign",
       tmp_path / "signer.key", "-o", export)
    data = export.read_bytes()
    flipped = bytearray(data)
    flipped[len(envelope.read_frame(data).associated) + 10] ^= 0x40
    cases = {
        "truncated": (data[: len(data) // 2], "dr", "signer", "truncated"),
        "tampered": (bytes(flipped), "dr", "signer", "signature does not verify"),
        "version": (data.replace(b'"format": 2', b'"format": 9'), "dr", "signer", "format version 9"),
        "wrongkey": (data, "other", "signer", "not for this private key"),
        "foreign": (data, "dr", "mallory", "signed by key"),
    }
    for name, (content, key, signer, message) in cases.items():
        path = tmp_path / f"{name}.srx"
        path.write_bytes(content)
        for output in ("json", "csv"):
            refused = run("decrypt", path, "--key", tmp_path / f"{key}.key", "--trust", tmp_path / f"{signer}.pub",
                          "-o", output, "--out-dir", tmp_path / f"{name}-csv")
            assert refused.returncode == 1 and refused.stdout == "", name
            assert refused.stderr.startswith("error: ") and message in refused.stderr, refused.stderr
            assert refused.stderr.count("\n") == 1
            assert not (tmp_path / f"{name}-csv").exists()


def test_only_admins_export(world: World, cluster: Cluster, tmp_path: Path) -> None:
    ok("keygen", "--out", tmp_path / "dr")
    ok("keygen", "--type", "ed25519", "--out", tmp_path / "signer")
    for user in ("alice", "dave", "audrey"):
        out = tmp_path / f"{user}.srx"
        refused = run("export", "--kubeconfig", cluster.kubeconfig(user), "--recipient", tmp_path / "dr.pub",
                      "--sign", tmp_path / "signer.key", "-o", out)
        assert refused.returncode == 3, refused.stderr
        assert refused.stderr.startswith(f"error: {user} may not export") and refused.stderr.count("\n") == 1
        assert not out.exists()


def test_restore_refuses_disallowed_unsigned_foreign_and_changed_files_and_applies_nothing(
    make_world: Callable[..., World], cluster: Cluster, clients: dict[str, client.ApiClient], tmp_path: Path
) -> None:
    world = make_world()
    admin, admin_cfg = clients["admin"], cluster.kubeconfig("admin")
    core, objects = client.CoreV1Api(admin), client.CustomObjectsApi(admin)
    export = signed_export(cluster, tmp_path)
    key, signer = keys.load_private(tmp_path / "dr.key"), keys.load_signer(tmp_path / "signer.key")
    opened = envelope.open_sealed(export.read_bytes(), key, signer.public_key())
    doc = json.loads(opened.plaintext)
    meta = {k: opened.header[k] for k in ("created", "sourceCluster", "exporter")}

    def sealed(document: dict, by: envelope.SigningKey = signer) -> bytes:
        return envelope.seal(json.dumps(document).encode(), key.public_key(), by, meta)

    daemonset = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "evil", "namespace": world.vault},
                 "spec": {"selector": {"matchLabels": {"app": "evil"}},
                          "template": {"metadata": {"labels": {"app": "evil"}}, "spec": {
                              "hostPID": True, "containers": [{"name": "evil", "image": "busybox"}]}}}}
    privileged = {"name": "kube-system", "labels": {"pod-security.kubernetes.io/enforce": "privileged"}}
    flipped = bytearray(export.read_bytes())
    flipped[-envelope.SIGNATURE_LENGTH - 20] ^= 0x01  # a ciphertext byte
    cases = {
        "daemonset": (sealed({**doc, "safes": [*doc["safes"], daemonset]}), f"DaemonSet {world.vault}/evil"),
        "kube-system-label": (sealed({**doc, "namespaces": [*doc["namespaces"], privileged]}),
                              "Namespace kube-system"),
        "unsigned": (unsigned_v1(opened.plaintext, key.public_key()), "format version 1, which is not signed"),
        "foreign": (sealed(doc, keys.load_signer(tmp_path / "mallory.key")), "signed by key"),
        "tampered": (bytes(flipped), "signature does not verify"),
    }
    # what a restore would bring back is lost or changed
    objects.delete_namespaced_custom_object(GROUP, VERSION, world.vault, "accounts", world.account)
    core.delete_namespaced_secret(SECRET, world.vault)
    world.update_safe(description="changed after the export")
    system_labels = core.read_namespace("kube-system").metadata.labels
    restore = ("--key", tmp_path / "dr.key", "--trust", tmp_path / "signer.pub", "--kubeconfig", admin_cfg,
               "-n", world.vault)
    for name, (content, message) in cases.items():
        path = tmp_path / f"{name}.srx"
        path.write_bytes(content)
        refused = run("restore", path, *restore)
        assert refused.returncode == 1 and refused.stdout == "", (name, refused.stderr)
        assert refused.stderr.startswith(f"error: {path}: ") and message in refused.stderr, refused.stderr
        assert refused.stderr.count("\n") == 1 and world.password not in refused.stderr
        assert not exists(lambda: core.read_namespaced_secret(SECRET, world.vault)), name
        assert not exists(lambda: world.get("Account", world.account, namespace=world.vault)), name
        assert world.get("Safe", world.safe, namespace=world.vault)["spec"]["description"] == "changed after the export"
        assert core.read_namespace("kube-system").metadata.labels == system_labels
        assert client.AppsV1Api(admin).list_namespaced_daemon_set(world.vault).items == []
    ok("restore", export, *restore)  # the genuine file is accepted, and brings it all back
    assert core.read_namespaced_secret(SECRET, world.vault).data
    assert world.get("Account", world.account, namespace=world.vault)["spec"]["secretRef"]["name"] == SECRET
    assert world.get("Safe", world.safe, namespace=world.vault)["spec"]["description"] == "Production database"


def test_dry_run_lists_what_restore_would_change_and_applies_nothing(
    make_world: Callable[..., World], cluster: Cluster, clients: dict[str, client.ApiClient], tmp_path: Path
) -> None:
    world = make_world()
    core = client.CoreV1Api(clients["admin"])
    export = signed_export(cluster, tmp_path)
    restore = ("restore", export, "--key", tmp_path / "dr.key", "--trust", tmp_path / "signer.pub",
               "--kubeconfig", cluster.kubeconfig("admin"), "-n", world.vault)

    def planned() -> dict[tuple[str, str], str]:
        done = run(*restore, "--dry-run")
        assert done.returncode == 0 and "nothing was applied" in done.stderr, done.stderr
        assert world.password not in done.stdout
        return {(kind, name): action for action, kind, name in (line.split() for line in done.stdout.splitlines())}

    secret, safe, account = (("Secret", f"{world.vault}/{SECRET}"), ("Safe", f"{world.vault}/{world.safe}"),
                             ("Account", f"{world.vault}/{world.account}"))
    everything = {("Namespace", world.vault): "unchanged", secret: "unchanged", safe: "unchanged",
                  account: "unchanged"}
    assert planned() == everything  # the cluster holds what the file says
    core.delete_namespaced_secret(SECRET, world.vault)
    world.update_safe(description="changed after the export")
    assert planned() == {**everything, secret: "create", safe: "update"}
    assert not exists(lambda: core.read_namespaced_secret(SECRET, world.vault))
    assert world.get("Safe", world.safe, namespace=world.vault)["spec"]["description"] == "changed after the export"
    ok(*restore)
    assert planned() == everything
