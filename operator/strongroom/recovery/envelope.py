"""The export file format (pure): a magic, an authenticated JSON header, an AES-256-GCM body.

    MAGIC (8 bytes) | header length (4 bytes, big-endian) | header (JSON) | body (ciphertext + tag)

The header names the format version, creation time, source cluster, exporter, the recipient key's
fingerprint, the wrapped content key, the nonce, the body length and a SHA-256 of the plaintext.
All bytes before the body are the AEAD's associated data, so a changed header fails like a changed
body. The content key is fresh per file and wrapped for the recipient: RSA-OAEP-SHA256, or X25519
(an ephemeral key, the shared secret through HKDF-SHA256 into a key that seals the content key).
Opening checks everything before returning anything: there is never partial output.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MAGIC = b"SRMEXP\x00\x01"
FORMAT_VERSION = 1
_LENGTH = struct.Struct(">I")
_PREFIX = len(MAGIC) + _LENGTH.size
MAX_HEADER = 64 * 1024
X25519 = "x25519-hkdf-sha256"
RSA_OAEP = "rsa-oaep-sha256"
_WRAP_INFO = b"strongroom export key wrap v1"

PublicKey = rsa.RSAPublicKey | x25519.X25519PublicKey
PrivateKey = rsa.RSAPrivateKey | x25519.X25519PrivateKey


class EnvelopeError(Exception):
    """An export that cannot be opened; the message is one line and says why."""


class NotAnExport(EnvelopeError):
    pass


class Truncated(EnvelopeError):
    pass


class Tampered(EnvelopeError):
    pass


class WrongKey(EnvelopeError):
    pass


class UnknownVersion(EnvelopeError):
    pass


def fingerprint(key: PublicKey) -> str:
    """SHA-256 of the key's SubjectPublicKeyInfo, as `sha256:<hex>`."""
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "sha256:" + hashlib.sha256(der).hexdigest()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _kek(shared: bytes, ephemeral: bytes, recipient: bytes) -> bytes:
    return HKDF(hashes.SHA256(), 32, salt=ephemeral + recipient, info=_WRAP_INFO).derive(shared)


def _raw(key: x25519.X25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _wrap(content_key: bytes, recipient: PublicKey) -> dict[str, str]:
    if isinstance(recipient, rsa.RSAPublicKey):
        oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
        return {"algorithm": RSA_OAEP, "wrappedKey": _b64(recipient.encrypt(content_key, oaep))}
    ephemeral = x25519.X25519PrivateKey.generate()
    eph_pub = _raw(ephemeral.public_key())
    kek = _kek(ephemeral.exchange(recipient), eph_pub, _raw(recipient))
    nonce = os.urandom(12)
    return {"algorithm": X25519, "ephemeralKey": _b64(eph_pub), "wrapNonce": _b64(nonce),
            "wrappedKey": _b64(AESGCM(kek).encrypt(nonce, content_key, None))}


def _unwrap(wrap: dict[str, Any], key: PrivateKey) -> bytes:
    try:
        wrapped = base64.b64decode(wrap["wrappedKey"], validate=True)
        if wrap["algorithm"] == RSA_OAEP and isinstance(key, rsa.RSAPrivateKey):
            oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
            return key.decrypt(wrapped, oaep)
        if wrap["algorithm"] == X25519 and isinstance(key, x25519.X25519PrivateKey):
            eph_pub = base64.b64decode(wrap["ephemeralKey"], validate=True)
            shared = key.exchange(x25519.X25519PublicKey.from_public_bytes(eph_pub))
            kek = _kek(shared, eph_pub, _raw(key.public_key()))
            return AESGCM(kek).decrypt(base64.b64decode(wrap["wrapNonce"], validate=True), wrapped, None)
    except (KeyError, ValueError, TypeError, InvalidTag):
        raise Tampered("the export's key wrapping is damaged or was changed") from None
    raise WrongKey(f"the export is encrypted with {wrap.get('algorithm')}, which this private key cannot open")


def seal(plaintext: bytes, recipient: PublicKey, metadata: dict[str, Any]) -> bytes:
    """The export file for `plaintext`, readable only with `recipient`'s private key. `metadata` (source
    cluster, exporter, ...) goes into the authenticated header as given."""
    content_key = AESGCM.generate_key(256)
    nonce = os.urandom(12)
    header = {
        "format": FORMAT_VERSION,
        **metadata,
        "recipient": {"fingerprint": fingerprint(recipient), **_wrap(content_key, recipient)},
        "cipher": "AES-256-GCM",
        "nonce": _b64(nonce),
        "bodyLength": len(plaintext) + 16,
        "digest": "sha256:" + hashlib.sha256(plaintext).hexdigest(),
    }
    encoded = json.dumps(header, sort_keys=True).encode()
    prefix = MAGIC + _LENGTH.pack(len(encoded)) + encoded
    return prefix + AESGCM(content_key).encrypt(nonce, plaintext, prefix)


@dataclass(frozen=True)
class Opened:
    header: dict[str, Any]
    plaintext: bytes


def read_header(data: bytes) -> tuple[dict[str, Any], bytes, bytes]:
    """(header, associated data, body); checks the frame and the version, not the authenticity."""
    if len(data) < len(MAGIC) or not data.startswith(MAGIC):
        if MAGIC.startswith(data):
            raise Truncated("the export is truncated (it ends inside its header)")
        raise NotAnExport("this is not a Strongroom export (wrong magic bytes)")
    if len(data) < _PREFIX:
        raise Truncated("the export is truncated (it ends inside its header)")
    (length,) = _LENGTH.unpack_from(data, len(MAGIC))
    if length > MAX_HEADER:
        raise Tampered("the export's header length is implausible; the file was changed")
    if len(data) < _PREFIX + length:
        raise Truncated("the export is truncated (it ends inside its header)")
    try:
        header = json.loads(data[_PREFIX:_PREFIX + length])
        if not isinstance(header, dict):
            raise ValueError
    except ValueError:
        raise Tampered("the export's header is not valid JSON; the file was changed") from None
    version = header.get("format")
    if version != FORMAT_VERSION:
        raise UnknownVersion(f"the export has format version {version!r}; this Strongroom reads version "
                             f"{FORMAT_VERSION}")
    return header, data[:_PREFIX + length], data[_PREFIX + length:]


def open_sealed(data: bytes, key: PrivateKey) -> Opened:
    """The header and plaintext of an export, or an EnvelopeError saying why not."""
    header, associated, body = read_header(data)
    try:
        recipient, nonce = header["recipient"], base64.b64decode(header["nonce"], validate=True)
        expected, digest = int(header["bodyLength"]), str(header["digest"])
        wanted = str(recipient["fingerprint"])
    except (KeyError, ValueError, TypeError):
        raise Tampered("the export's header lacks a field it needs; the file was changed") from None
    if len(body) < expected:
        raise Truncated(f"the export is truncated (its body has {len(body)} of {expected} bytes)")
    if len(body) > expected:
        raise Tampered("the export has bytes after its body; the file was changed")
    if wanted != fingerprint(key.public_key()):
        raise WrongKey(f"the export is encrypted for key {wanted}, not for this private key "
                       f"({fingerprint(key.public_key())})")
    content_key = _unwrap(recipient, key)
    try:
        plaintext = AESGCM(content_key).decrypt(nonce, body, associated)
    except (InvalidTag, ValueError):
        raise Tampered("the export failed its integrity check: the header or body was changed") from None
    if "sha256:" + hashlib.sha256(plaintext).hexdigest() != digest:
        raise Tampered("the export's content digest does not match; the file was changed")
    return Opened(header, plaintext)
