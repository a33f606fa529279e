"""Signed exports: who made a file is proved by an Ed25519 signature over all of it, checked before anything
is decrypted; every way to forge, change or re-target a file is refused."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from strongroom.recovery import envelope, keys
from strongroom.recovery.envelope import BadSignature, Tampered, Truncated, Unsigned, UntrustedSigner
from tests.recovery.forge import rebuilt, unsigned_v1

PLAINTEXT = b'{"secrets": [{"data": {"password": "cHctczNjcmV0"}}]}' * 8
META = {"created": "2026-01-01T00:00:00Z", "sourceCluster": "https://x (kube-system uid 1)", "exporter": "admin"}
SIGNER = ed25519.Ed25519PrivateKey.generate()
MALLORY = ed25519.Ed25519PrivateKey.generate()


@pytest.fixture(params=["x25519", "rsa"], scope="module")
def key(request: pytest.FixtureRequest) -> envelope.PrivateKey:
    made = keys.generate(request.param)
    assert not isinstance(made, ed25519.Ed25519PrivateKey)
    return made


@pytest.fixture(scope="module")
def data(key: envelope.PrivateKey) -> bytes:
    return envelope.seal(PLAINTEXT, key.public_key(), SIGNER, META)


def refused(data: bytes, key: envelope.PrivateKey) -> envelope.EnvelopeError:
    """The refusal of `data` opened with `key`, trusting SIGNER: one line, no plaintext."""
    with pytest.raises(envelope.EnvelopeError) as caught:
        envelope.open_sealed(data, key, SIGNER.public_key())
    assert "\n" not in str(caught.value) and "pw-s3cret" not in str(caught.value)
    return caught.value


def test_a_signed_export_opens_verified_and_names_its_signer(key: envelope.PrivateKey, data: bytes) -> None:
    opened = envelope.open_sealed(data, key, SIGNER.public_key())
    assert opened.plaintext == PLAINTEXT and opened.verified
    assert opened.signer == envelope.fingerprint(SIGNER.public_key()) == opened.header["signer"]["fingerprint"]
    assert opened.header["format"] == 2 and opened.header["signer"]["algorithm"] == "ed25519"
    unchecked = envelope.open_sealed(data, key, None)
    assert unchecked.plaintext == PLAINTEXT and not unchecked.verified


def test_changing_any_byte_of_the_file_is_refused(key: envelope.PrivateKey, data: bytes) -> None:
    for position in range(len(data)):
        changed = bytearray(data)
        changed[position] ^= 0x04
        refused(bytes(changed), key)


# (field path, new value): every header field, changed so that the header still parses
HEADER_CHANGES = [
    (("created",), "2030-01-01T00:00:00Z"),
    (("sourceCluster",), "https://elsewhere"),
    (("exporter",), "mallory"),
    (("cipher",), "AES-128-GCM"),
    (("nonce",), "AAAAAAAAAAAAAAAA"),
    (("digest",), "sha256:" + "0" * 64),
    (("signer", "algorithm"), "ed448"),
    (("recipient", "fingerprint"), "sha256:" + "1" * 64),
    (("recipient", "wrappedKey"), "AAAA"),
    (("recipient", "algorithm"), "rsa-oaep-sha1"),
    (("bodyLength",), 17),
    (("extra",), "an added field"),
]


@pytest.mark.parametrize(("path", "value"), HEADER_CHANGES, ids=lambda v: ".".join(v) if isinstance(v, tuple) else "")
def test_a_changed_header_field_fails_the_signature(key: envelope.PrivateKey, data: bytes, path: tuple[str, ...],
                                                    value: Any) -> None:
    def change(header: dict[str, Any]) -> None:
        *parents, last = path
        target = header
        for part in parents:
            target = target[part]
        target[last] = value

    forged = rebuilt(data, change)
    assert forged != data
    error = refused(forged, key)
    if path == ("bodyLength",):
        assert isinstance(error, Tampered)  # the frame no longer adds up
    elif path == ("signer", "algorithm"):
        assert isinstance(error, UntrustedSigner)
    else:
        assert isinstance(error, BadSignature), error


def test_a_changed_ciphertext_or_signature_byte_is_a_bad_signature(key: envelope.PrivateKey, data: bytes) -> None:
    frame = envelope.read_frame(data)
    for position in (len(frame.associated), len(frame.associated) + len(frame.body) // 2, len(data) - 1):
        changed = bytearray(data)
        changed[position] ^= 0x80
        assert isinstance(refused(bytes(changed), key), BadSignature)


def test_a_file_signed_by_another_key_is_refused(key: envelope.PrivateKey) -> None:
    theirs = envelope.seal(PLAINTEXT, key.public_key(), MALLORY, META)
    error = refused(theirs, key)
    assert isinstance(error, UntrustedSigner)
    assert envelope.fingerprint(MALLORY.public_key()) in str(error)
    assert envelope.fingerprint(SIGNER.public_key()) in str(error)


def test_swapping_the_signer_fingerprint_is_refused(key: envelope.PrivateKey, data: bytes) -> None:
    ours, theirs = envelope.fingerprint(SIGNER.public_key()), envelope.fingerprint(MALLORY.public_key())
    # our file claiming another signer: not the trusted key
    claimed = rebuilt(data, lambda h: h["signer"].update(fingerprint=theirs))
    assert isinstance(refused(claimed, key), UntrustedSigner)
    # mallory's file claiming to be ours: her signature does not verify under our key
    forged = rebuilt(envelope.seal(PLAINTEXT, key.public_key(), MALLORY, META),
                     lambda h: h["signer"].update(fingerprint=ours))
    assert isinstance(refused(forged, key), BadSignature)


def test_the_same_plaintext_encrypted_to_another_recipient_keeps_no_signature(key: envelope.PrivateKey,
                                                                               data: bytes) -> None:
    """A recipient can decrypt and encrypt again for someone else, but cannot carry the signature over."""
    other = keys.generate("x25519")
    assert not isinstance(other, ed25519.Ed25519PrivateKey)
    plaintext = envelope.open_sealed(data, key, SIGNER.public_key()).plaintext
    ours = envelope.fingerprint(SIGNER.public_key())
    again = envelope.seal(plaintext, other.public_key(), MALLORY, META)
    retargeted = rebuilt(again, lambda h: h["signer"].update(fingerprint=ours),
                         signature=envelope.read_frame(data).signature)
    assert isinstance(refused(retargeted, other), BadSignature)


def test_a_truncated_or_extended_signature_is_refused(key: envelope.PrivateKey, data: bytes) -> None:
    assert isinstance(refused(data[:-1], key), Truncated)
    assert isinstance(refused(data[:-envelope.SIGNATURE_LENGTH], key), Truncated)
    assert isinstance(refused(data + b"\x00", key), Tampered)


def test_an_unsigned_format_1_export_is_refused_with_or_without_a_trusted_key(key: envelope.PrivateKey) -> None:
    old = unsigned_v1(PLAINTEXT, key.public_key())
    for trusted in (SIGNER.public_key(), None):
        with pytest.raises(Unsigned, match=r"format version 1, which is not signed.*--sign"):
            envelope.open_sealed(old, key, trusted)


def test_keygen_writes_a_signing_pair_and_the_loaders_tell_the_kinds_apart(tmp_path: Path) -> None:
    signer = keys.generate("ed25519")
    keys.write_pair(signer, tmp_path / "sign.key", tmp_path / "sign.pub")
    assert stat.S_IMODE(os.stat(tmp_path / "sign.key").st_mode) == 0o600
    loaded, trusted = keys.load_signer(tmp_path / "sign.key"), keys.load_trusted(tmp_path / "sign.pub")
    assert envelope.fingerprint(loaded.public_key()) == envelope.fingerprint(trusted)
    with pytest.raises(keys.KeyFileError, match="already exists"):
        keys.write_pair(keys.generate("ed25519"), tmp_path / "sign.key", tmp_path / "new.pub")
    keys.write_pair(keys.generate("x25519"), tmp_path / "dr.key", tmp_path / "dr.pub")
    wrong = [
        (keys.load_public, "sign.pub", "signing key"), (keys.load_private, "sign.key", "signing key"),
        (keys.load_signer, "dr.key", "not an Ed25519 private key"), (keys.load_trusted, "dr.pub", "not an Ed25519"),
        (keys.load_trusted, "sign.key", "not a PEM public key"), (keys.load_signer, "missing.key", "cannot read"),
    ]
    for loader, name, message in wrong:
        with pytest.raises(keys.KeyFileError, match=message) as caught:
            loader(tmp_path / name)
        assert "\n" not in str(caught.value)


def test_the_header_names_everything_the_signature_covers(key: envelope.PrivateKey, data: bytes) -> None:
    header = envelope.read_frame(data).header
    assert set(header) == {"format", "created", "sourceCluster", "exporter", "signer", "recipient", "cipher", "nonce",
                           "bodyLength", "digest"}
    assert json.dumps(header).count("pw-s3cret") == 0
