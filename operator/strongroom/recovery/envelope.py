"""The export file format (pure): a magic, an authenticated JSON header, an AES-256-GCM body, and an
Ed25519 signature over all of it.

    MAGIC (8 bytes) | header length (4 bytes, big-endian) | header (JSON) | body (ciphertext + tag) | signature (64)

The header names the format version, creation time, source cluster, exporter, the signer key's
fingerprint, the recipient key's fingerprint, the wrapped content key, the nonce, the body length and a
SHA-256 of the plaintext. All bytes before the body are the AEAD's associated data, so a changed header
fails like a changed body. The content key is fresh per file and wrapped for the recipient: RSA-OAEP-SHA256,
or X25519 (an ephemeral key, the shared secret through HKDF-SHA256 into a key that seals the content key).

Encryption only proves the file was made for the recipient, and anyone holding the recipient's public key
can make one; the signature proves who made it. It covers every byte before it (header and ciphertext),
prefixed with a context string, so a changed byte, a swapped signer field, or the same plaintext encrypted
again to another recipient under the original signature all fail verification.
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

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MAGIC = b"SRMEXP\x00\x01"  # unchanged since version 1, so an old file is named as one rather than as "not an export"
FORMAT_VERSION = 2
UNSIGNED_VERSION = 1
SIGNATURE_LENGTH = 64
ED25519 = "ed25519"
_SIGNATURE_CONTEXT = b"strongroom export signature v2\x00"  # this signature can mean nothing else
_LENGTH = struct.Struct(">I")
_PREFIX = len(MAGIC) + _LENGTH.size
MAX_HEADER = 64 * 1024
X25519 = "x25519-hkdf-sha256"
RSA_OAEP = "rsa-oaep-sha256"
_WRAP_INFO = b"strongroom export key wrap v1"

PublicKey = rsa.RSAPublicKey | x25519.X25519PublicKey
PrivateKey = rsa.RSAPrivateKey | x25519.X25519PrivateKey
SigningKey = ed25519.Ed25519PrivateKey
TrustedKey = ed25519.Ed25519PublicKey


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


class Unsigned(UnknownVersion):
    pass


class UntrustedSigner(EnvelopeError):
    pass


class BadSignature(Tampered):
    pass


def fingerprint(key: PublicKey | TrustedKey) -> str:
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


def seal(plaintext: bytes, recipient: PublicKey, signer: SigningKey, metadata: dict[str, Any]) -> bytes:
    """The export file for `plaintext`, readable only with `recipient`'s private key and signed by `signer`.
    `metadata` (source cluster, exporter, ...) goes into the authenticated header as given."""
    content_key = AESGCM.generate_key(256)
    nonce = os.urandom(12)
    header = {
        "format": FORMAT_VERSION,
        **metadata,
        "signer": {"algorithm": ED25519, "fingerprint": fingerprint(signer.public_key())},
        "recipient": {"fingerprint": fingerprint(recipient), **_wrap(content_key, recipient)},
        "cipher": "AES-256-GCM",
        "nonce": _b64(nonce),
        "bodyLength": len(plaintext) + 16,
        "digest": "sha256:" + hashlib.sha256(plaintext).hexdigest(),
    }
    encoded = json.dumps(header, sort_keys=True).encode()
    prefix = MAGIC + _LENGTH.pack(len(encoded)) + encoded
    signed = prefix + AESGCM(content_key).encrypt(nonce, plaintext, prefix)
    return signed + signer.sign(_SIGNATURE_CONTEXT + signed)


@dataclass(frozen=True)
class Frame:
    """An export split into its parts; the frame and version are checked, the authenticity is not."""

    header: dict[str, Any]
    associated: bytes  # everything before the body: the AEAD's associated data
    body: bytes
    signature: bytes
    signer: str  # the signer key's fingerprint, as the header names it
    algorithm: str


@dataclass(frozen=True)
class Opened:
    header: dict[str, Any]
    plaintext: bytes
    signer: str  # the signer key's fingerprint, as the file names it
    verified: bool  # whether the signature was checked against a trusted key (and held)


def _version(header: dict[str, Any]) -> None:
    version = header.get("format")
    if version == UNSIGNED_VERSION:
        raise Unsigned(f"the export has format version {UNSIGNED_VERSION}, which is not signed; this Strongroom "
                       f"reads only signed exports (version {FORMAT_VERSION}): export again with --sign")
    if version != FORMAT_VERSION:
        raise UnknownVersion(f"the export has format version {version!r}; this Strongroom reads version "
                             f"{FORMAT_VERSION}")


def read_frame(data: bytes) -> Frame:
    """The parts of an export, or an EnvelopeError for a file that is not one, is cut short or has extra bytes."""
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
    _version(header)
    try:
        expected = int(header["bodyLength"]) + SIGNATURE_LENGTH
        if expected < SIGNATURE_LENGTH + 16:  # a body holds at least its AES-GCM tag
            raise ValueError
        signer, algorithm = str(header["signer"]["fingerprint"]), str(header["signer"]["algorithm"])
    except (KeyError, ValueError, TypeError):
        raise Tampered("the export's header lacks a field it needs; the file was changed") from None
    rest = data[_PREFIX + length:]
    if len(rest) < expected:
        raise Truncated(f"the export is truncated (after its header it has {len(rest)} of {expected} bytes)")
    if len(rest) > expected:
        raise Tampered("the export has bytes after its signature; the file was changed")
    body, signature = rest[:-SIGNATURE_LENGTH], rest[-SIGNATURE_LENGTH:]
    return Frame(header, data[:_PREFIX + length], body, signature, signer, algorithm)


def verify(frame: Frame, trusted: TrustedKey) -> None:
    """Nothing when `trusted` signed exactly these bytes, else UntrustedSigner or BadSignature."""
    wanted = fingerprint(trusted)
    if frame.algorithm != ED25519 or frame.signer != wanted:
        raise UntrustedSigner(f"the export is signed by key {frame.signer}, not by the trusted key {wanted}")
    try:
        trusted.verify(frame.signature, _SIGNATURE_CONTEXT + frame.associated + frame.body)
    except InvalidSignature:
        raise BadSignature("the export's signature does not verify: the file was changed after it was signed") from None


def open_sealed(data: bytes, key: PrivateKey, trusted: TrustedKey | None) -> Opened:
    """The header and plaintext of an export, or an EnvelopeError saying why not. With `trusted`, the
    signature is verified first; None (an explicit choice of the caller) leaves it unchecked."""
    frame = read_frame(data)
    if trusted is not None:
        verify(frame, trusted)
    header = frame.header
    try:
        recipient, nonce = header["recipient"], base64.b64decode(header["nonce"], validate=True)
        digest, wanted = str(header["digest"]), str(recipient["fingerprint"])
    except (KeyError, ValueError, TypeError):
        raise Tampered("the export's header lacks a field it needs; the file was changed") from None
    if wanted != fingerprint(key.public_key()):
        raise WrongKey(f"the export is encrypted for key {wanted}, not for this private key "
                       f"({fingerprint(key.public_key())})")
    content_key = _unwrap(recipient, key)
    try:
        plaintext = AESGCM(content_key).decrypt(nonce, frame.body, frame.associated)
    except (InvalidTag, ValueError):
        raise Tampered("the export failed its integrity check: the header or body was changed") from None
    if "sha256:" + hashlib.sha256(plaintext).hexdigest() != digest:
        raise Tampered("the export's content digest does not match; the file was changed")
    return Opened(header, plaintext, frame.signer, verified=trusted is not None)
