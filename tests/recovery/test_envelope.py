"""The export file format's encryption: both recipient key types, and every way a file can be wrong (opened
without a trusted signer key, so the AEAD alone must catch it; test_signing covers the signature)."""

from __future__ import annotations

import os
import stat

import pytest

from strongroom.recovery import envelope, keys
from strongroom.recovery.envelope import Tampered, Truncated, UnknownVersion, WrongKey

PLAINTEXT = b'{"safes": [{"name": "prod-db"}], "secret": "pw-s3cret"}' * 20
SIGNER = keys.generate("ed25519")


@pytest.fixture(params=["x25519", "rsa"], scope="module")
def key(request: pytest.FixtureRequest) -> envelope.PrivateKey:
    return keys.generate(request.param)


def sealed(key: envelope.PrivateKey) -> bytes:
    return envelope.seal(PLAINTEXT, key.public_key(), SIGNER, {"created": "2026-01-01T00:00:00Z", "sourceCluster": "x"})


def test_opens_what_it_sealed_with_the_matching_key(key: envelope.PrivateKey) -> None:
    data = sealed(key)
    opened = envelope.open_sealed(data, key, None)
    assert opened.plaintext == PLAINTEXT
    assert opened.header["sourceCluster"] == "x"
    assert b"pw-s3cret" not in data


def test_refuses_a_wrong_key_of_either_type(key: envelope.PrivateKey) -> None:
    for other in ("x25519", "rsa"):
        with pytest.raises(WrongKey, match="encrypted for key"):
            envelope.open_sealed(sealed(key), keys.generate(other), None)


@pytest.mark.parametrize("cut", [0.0, 0.001, 0.05, 0.3, 0.9, -1])
def test_refuses_a_truncated_file(key: envelope.PrivateKey, cut: float) -> None:
    data = sealed(key)
    end = len(data) - 1 if cut == -1 else int(len(data) * cut)
    with pytest.raises(Truncated, match="truncated"):
        envelope.open_sealed(data[:end] if end else data[:3], key, None)


def test_refuses_one_flipped_byte_anywhere_in_header_or_body(key: envelope.PrivateKey) -> None:
    data = sealed(key)
    associated = envelope.read_frame(data).associated
    for position in (len(associated) - 30, len(associated) + 5, len(data) - envelope.SIGNATURE_LENGTH - 1):
        changed = bytearray(data)
        changed[position] ^= 0x01
        with pytest.raises(envelope.EnvelopeError) as refused:
            envelope.open_sealed(bytes(changed), key, None)
        assert isinstance(refused.value, Tampered | WrongKey)
        assert "\n" not in str(refused.value)


def test_refuses_a_changed_header_value_that_still_parses(key: envelope.PrivateKey) -> None:
    data = sealed(key)
    forged = data.replace(b'"sourceCluster": "x"', b'"sourceCluster": "y"')
    assert forged != data
    with pytest.raises(Tampered, match="integrity"):
        envelope.open_sealed(forged, key, None)


def test_refuses_an_unknown_format_version(key: envelope.PrivateKey) -> None:
    forged = sealed(key).replace(b'"format": 2', b'"format": 7')
    with pytest.raises(UnknownVersion, match="format version 7"):
        envelope.open_sealed(forged, key, None)


def test_refuses_a_file_that_is_not_an_export(key: envelope.PrivateKey) -> None:
    with pytest.raises(envelope.NotAnExport):
        envelope.open_sealed(b"PK\x03\x04 a zip file", key, None)


def test_keygen_writes_a_private_key_only_its_owner_reads_and_never_overwrites(tmp_path) -> None:
    private, public = tmp_path / "dr.key", tmp_path / "dr.pub"
    keys.write_pair(keys.generate("x25519"), private, public)
    assert stat.S_IMODE(os.stat(private).st_mode) == 0o600
    loaded = keys.load_private(private)
    assert envelope.fingerprint(loaded.public_key()) == envelope.fingerprint(keys.load_public(public))
    with pytest.raises(keys.KeyFileError, match="already exists"):
        keys.write_pair(keys.generate("x25519"), private, tmp_path / "other.pub")
    assert keys.load_private(private).private_bytes_raw() == loaded.private_bytes_raw()
