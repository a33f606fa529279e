"""Key pairs: recipients (X25519 or RSA, exports are encrypted to them) and signers (Ed25519, exports are
signed by them); generated, written with safe permissions, loaded with one-line errors."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa, x25519
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes

from strongroom.recovery.envelope import PrivateKey, PublicKey, SigningKey, TrustedKey

SIGNING = "ed25519"
KEY_TYPES = ("x25519", "rsa", SIGNING)
_MAKE_SIGNER = f"make one with `strongroom keygen --type {SIGNING}`"


class KeyFileError(Exception):
    """A key file that cannot be used; one line saying why."""


def generate(kind: str) -> PrivateKey | SigningKey:
    if kind == SIGNING:
        return ed25519.Ed25519PrivateKey.generate()
    return rsa.generate_private_key(65537, 4096) if kind == "rsa" else x25519.X25519PrivateKey.generate()


def _write_new(path: Path, data: bytes, mode: int) -> None:
    """Write `data` to a new file `path` with `mode` from the start: never over an existing file, and
    never visible half-written (a temporary file in the same directory, then a hard link)."""
    if path.exists():
        raise KeyFileError(f"{path} already exists; refusing to overwrite a key")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.link(tmp, path)  # fails if `path` appeared meanwhile
    except FileExistsError:
        raise KeyFileError(f"{path} already exists; refusing to overwrite a key") from None
    finally:
        tmp.unlink(missing_ok=True)


def write_pair(key: PrivateKey | SigningKey, private_path: Path, public_path: Path) -> None:
    """The private key (PKCS#8 PEM, mode 0600) and its public key (SubjectPublicKeyInfo PEM, 0644)."""
    for path in (private_path, public_path):
        if path.exists():
            raise KeyFileError(f"{path} already exists; refusing to overwrite a key")
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    _write_new(private_path, private, 0o600)
    _write_new(public_path, public, 0o644)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise KeyFileError(f"cannot read {path}: {exc.strerror}") from None


def _public(path: Path) -> PublicKeyTypes:
    try:
        return serialization.load_pem_public_key(_read(path))
    except ValueError:
        raise KeyFileError(f"{path} is not a PEM public key") from None


def _private(path: Path) -> PrivateKeyTypes:
    try:
        return serialization.load_pem_private_key(_read(path), password=None)
    except (ValueError, TypeError):
        raise KeyFileError(f"{path} is not an unencrypted PEM private key") from None


def load_public(path: Path) -> PublicKey:
    """A recipient's public key (what exports are encrypted to)."""
    key = _public(path)
    if isinstance(key, ed25519.Ed25519PublicKey):
        raise KeyFileError(f"{path} is an Ed25519 signing key; exports are encrypted to an X25519 or RSA key")
    if not isinstance(key, rsa.RSAPublicKey | x25519.X25519PublicKey):
        raise KeyFileError(f"{path} is neither an RSA nor an X25519 public key")
    if isinstance(key, rsa.RSAPublicKey) and key.key_size < 2048:
        raise KeyFileError(f"{path} is an RSA key of {key.key_size} bits; use 2048 or more")
    return key


def load_private(path: Path) -> PrivateKey:
    """A recipient's private key (what opens exports)."""
    key = _private(path)
    if isinstance(key, ed25519.Ed25519PrivateKey):
        raise KeyFileError(f"{path} is an Ed25519 signing key; exports are opened with an X25519 or RSA key")
    if not isinstance(key, rsa.RSAPrivateKey | x25519.X25519PrivateKey):
        raise KeyFileError(f"{path} is neither an RSA nor an X25519 private key")
    return key


def load_signer(path: Path) -> SigningKey:
    """The private key that signs exports."""
    key = _private(path)
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise KeyFileError(f"{path} is not an Ed25519 private key ({_MAKE_SIGNER})")
    return key


def load_trusted(path: Path) -> TrustedKey:
    """The public key of the signer whose exports are accepted."""
    key = _public(path)
    if not isinstance(key, ed25519.Ed25519PublicKey):
        raise KeyFileError(f"{path} is not an Ed25519 public key (the signer's PREFIX.pub; {_MAKE_SIGNER})")
    return key
