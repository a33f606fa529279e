"""Export files no honest Strongroom writes, built the way an attacker (or an older Strongroom) would."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from strongroom.recovery import envelope


def unsigned_v1(plaintext: bytes, recipient: envelope.PublicKey) -> bytes:
    """An export as format 1 wrote it: the same frame and encryption, no signer and no signature."""
    content_key, nonce = AESGCM.generate_key(256), os.urandom(12)
    header = {
        "format": 1, "created": "2026-01-01T00:00:00Z", "sourceCluster": "x", "exporter": "admin",
        "recipient": {"fingerprint": envelope.fingerprint(recipient), **envelope._wrap(content_key, recipient)},
        "cipher": "AES-256-GCM", "nonce": base64.b64encode(nonce).decode(), "bodyLength": len(plaintext) + 16,
        "digest": "sha256:" + hashlib.sha256(plaintext).hexdigest(),
    }
    encoded = json.dumps(header, sort_keys=True).encode()
    prefix = envelope.MAGIC + struct.pack(">I", len(encoded)) + encoded
    return prefix + AESGCM(content_key).encrypt(nonce, plaintext, prefix)


def rebuilt(data: bytes, change: Callable[[dict[str, Any]], None], signature: bytes | None = None) -> bytes:
    """`data` with its header changed by `change` (and re-framed), the body kept and the signature kept
    (or replaced by `signature`)."""
    frame = envelope.read_frame(data)
    header = json.loads(json.dumps(frame.header))
    change(header)
    encoded = json.dumps(header, sort_keys=True).encode()
    prefix = envelope.MAGIC + struct.pack(">I", len(encoded)) + encoded
    return prefix + frame.body + (frame.signature if signature is None else signature)
