"""The recovery commands through the real `strongroom` executable, with no cluster: signing keys, the
required --sign and --trust, decrypt's signer output, and restore refusing a bad file before it contacts
the API server at all (its kubeconfig points at a closed port)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from strongroom.recovery import envelope, keys
from tests.recovery.forge import unsigned_v1
from tests.recovery.test_allowlist import DAEMONSET, DOCUMENT, PASSWORD

STRONGROOM = str(Path(sys.executable).with_name("strongroom"))
META = {"created": "2026-03-01T09:00:00Z", "sourceCluster": "https://x", "exporter": "admin"}
NOWHERE = """apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:9"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
"""


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([STRONGROOM, *map(str, args)], capture_output=True, text=True, timeout=120, check=False)


def one_line_error(done: subprocess.CompletedProcess[str], code: int, message: str) -> None:
    assert done.returncode == code, done.stderr
    assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1, done.stderr
    assert message in done.stderr and done.stdout == "", done.stderr


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """dr (recipient), signer and other (Ed25519) key pairs, a kubeconfig for no cluster, and a good export."""
    here = tmp_path_factory.mktemp("keys")
    for prefix, kind in (("dr", "x25519"), ("signer", "ed25519"), ("other", "ed25519")):
        done = run("keygen", "--type", kind, "--out", here / prefix)
        assert done.returncode == 0 and "fingerprint: sha256:" in done.stdout, done.stderr
    (here / "nowhere.kubeconfig").write_text(NOWHERE)
    (here / "good.srx").write_bytes(seal(here, DOCUMENT))
    return here


def seal(here: Path, document: dict, signer: str = "signer") -> bytes:
    return envelope.seal(json.dumps(document).encode(), keys.load_public(here / "dr.pub"),
                         keys.load_signer(here / f"{signer}.key"), META)


def test_a_signing_key_pair_is_private_and_never_overwritten(made: Path) -> None:
    assert (made / "signer.key").stat().st_mode & 0o777 == 0o600
    one_line_error(run("keygen", "--type", "ed25519", "--out", made / "signer"), 2, "already exists")


def test_export_requires_a_signing_key(made: Path) -> None:
    common = ("export", "--kubeconfig", made / "nowhere.kubeconfig", "--recipient", made / "dr.pub")
    one_line_error(run(*common, "-o", made / "x.srx"), 2, "--sign")
    one_line_error(run(*common, "--sign", made / "dr.key", "-o", made / "x.srx"), 2, "not an Ed25519 private key")
    assert not (made / "x.srx").exists()


def test_decrypt_verifies_the_signer_and_names_it(made: Path) -> None:
    good, key = made / "good.srx", made / "dr.key"
    one_line_error(run("decrypt", good, "--key", key), 2, "--trust")
    done = run("decrypt", good, "--key", key, "--trust", made / "signer.pub")
    assert done.returncode == 0 and done.stderr == "", done.stderr
    signer = json.loads(done.stdout)["header"]["signer"]
    assert signer == {"algorithm": "ed25519", "verified": True,
                      "fingerprint": envelope.fingerprint(keys.load_trusted(made / "signer.pub"))}
    one_line_error(run("decrypt", good, "--key", key, "--trust", made / "other.pub"), 1, "signed by key")
    unchecked = run("decrypt", good, "--key", key, "--unverified")
    assert unchecked.returncode == 0 and json.loads(unchecked.stdout)["header"]["signer"]["verified"] is False
    assert unchecked.stderr.startswith("warning: the signature was not verified")


def test_restore_refuses_a_bad_file_before_it_contacts_the_cluster(made: Path) -> None:
    dr = keys.load_public(made / "dr.pub")
    good = (made / "good.srx").read_bytes()
    flipped = bytearray(good)
    flipped[len(good) // 2] ^= 0x01
    labelled = {**DOCUMENT, "namespaces": [{"name": "kube-system",
                                            "labels": {"pod-security.kubernetes.io/enforce": "privileged"}}]}
    cases = {
        "unsigned": (unsigned_v1(json.dumps(DOCUMENT).encode(), dr), "format version 1, which is not signed"),
        "foreign": (seal(made, DOCUMENT, signer="other"), "signed by key"),
        "tampered": (bytes(flipped), "signature does not verify"),
        "daemonset": (seal(made, {**DOCUMENT, "safes": [*DOCUMENT["safes"], DAEMONSET]}), "DaemonSet vault-a/evil"),
        "kube-system": (seal(made, labelled), "Namespace kube-system"),
    }
    restore = ("restore", "--key", made / "dr.key", "--trust", made / "signer.pub",
               "--kubeconfig", made / "nowhere.kubeconfig")
    for name, (content, message) in cases.items():
        path = made / f"{name}.srx"
        path.write_bytes(content)
        for dry_run in ((), ("--dry-run",)):
            done = run(*restore, path, *dry_run)
            one_line_error(done, 1, message)
            assert done.stderr.startswith(f"error: {path}: ") and PASSWORD not in done.stderr
    one_line_error(run("restore", made / "good.srx", "--key", made / "dr.key"), 2, "--trust")
    # the control: the good file gets past every check and only then fails, on the closed port
    reached = run(*restore, made / "good.srx")
    assert reached.returncode != 0 and not reached.stderr.startswith(f"error: {made / 'good.srx'}:")
