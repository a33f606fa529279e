"""HMAC-SHA256 seals over what the admission webhooks stamp: requesters, reviews, releases, issuers.

A seal binds the identity to everything it vouches for, so it cannot be moved to another object or
kept across an edit:

- a requester seal covers the namespace, the spec and a random nonce, and is stamped at admission,
  before the API server assigns the object's uid. Its stamp must match creationTimestamp, and the
  operator honours each nonce for one object only: the first time it honours a request it records
  `binding` (an HMAC of the nonce and the request's uid) in its status, and a copy of the seal on any
  other object (same name or not, seconds later) is `REUSED`;
- review and release seals cover the request's uid, which exists when they are admitted;
- issuer seals (Grants) cover the namespace and the whole spec, which names the request's uid.

Format: `v2:<stamped-at, RFC 3339>:<nonce>:<base64url HMAC>`; the key never leaves the operator.
Anything else, including any bytes that are not the format, is simply not verified.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from strongroom.api.accessrequest import AccessRequestSpec, Review
from strongroom.api.common import format_time
from strongroom.api.grant import GrantSpec
from strongroom.policy.verdicts import MISSING_SEAL, VERIFIED, Unverified, Verdict

VERSION = "v2"
# How far a stamp may lie from the object's creationTimestamp (admission precedes storage by
# milliseconds; the rest is clock skew between the webhook's host and the API server's).
FRESHNESS = timedelta(seconds=10)
NONCE_BYTES = 12


@dataclass(frozen=True)
class Seal:
    """A parsed seal; `parse` returns None for anything that is not one."""

    stamped_at: datetime
    stamp: str
    nonce: str
    mac: str

    @classmethod
    def parse(cls, text: object) -> Seal | None:
        if not isinstance(text, str) or not text.isascii():
            return None
        parts = text.split(":")
        # The stamp holds colons itself (12:00:00), so the nonce and MAC are taken from the end.
        if len(parts) < 4 or parts[0] != VERSION:
            return None
        stamp, nonce, mac = ":".join(parts[1:-2]), parts[-2], parts[-1]
        if not stamp or not nonce or not mac:
            return None
        try:
            stamped_at = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        except ValueError:
            return None
        if stamped_at.tzinfo is None:
            return None
        return cls(stamped_at, stamp, nonce, mac)


def _mac(key: bytes, claim: Mapping[str, Any]) -> str:
    canonical = json.dumps(claim, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    digest = hmac.new(key, canonical.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _seal(key: bytes, claim: dict[str, Any], stamped_at: datetime) -> str:
    stamp, nonce = format_time(stamped_at), secrets.token_urlsafe(NONCE_BYTES)
    return f"{VERSION}:{stamp}:{nonce}:{_mac(key, {**claim, 'stampedAt': stamp, 'nonce': nonce})}"


def _check(key: bytes, claim: dict[str, Any], text: str | None, created_at: datetime | None) -> Verdict:
    if not text:
        return MISSING_SEAL
    seal = Seal.parse(text)
    if seal is None:
        return Verdict(False, Unverified.MALFORMED)
    expected = _mac(key, {**claim, "stampedAt": seal.stamp, "nonce": seal.nonce})
    if not hmac.compare_digest(seal.mac.encode(), expected.encode()):
        return Verdict(False, Unverified.MISMATCH)
    if created_at is not None and abs(created_at - seal.stamped_at) > FRESHNESS:
        return Verdict(False, Unverified.STALE)
    return VERIFIED


# -- requesters --------------------------------------------------------------------------------------

# Fields of the spec that change after creation (the release and its stamp) or are the seal itself.
_NOT_SEALED = {"requester_signature", "release", "released_by", "release_signature"}


def _requester_claim(namespace: str, spec: AccessRequestSpec) -> dict[str, Any]:
    asked = spec.model_dump(mode="json", by_alias=True, exclude=_NOT_SEALED)
    asked["requesterGroups"] = sorted(set(asked.get("requesterGroups") or []))
    return {"seal": "requester", "namespace": namespace, "spec": asked}


def seal_requester(key: bytes, namespace: str, spec: AccessRequestSpec, stamped_at: datetime) -> str:
    return _seal(key, _requester_claim(namespace, spec), stamped_at)


def verify_requester(key: bytes, namespace: str, spec: AccessRequestSpec, created_at: datetime) -> Verdict:
    return _check(key, _requester_claim(namespace, spec), spec.requester_signature, created_at)


def binding(key: bytes, request_uid: str, spec: AccessRequestSpec) -> str:
    """The operator's record that the requester seal of `spec` was honoured for the object `request_uid`."""
    seal = Seal.parse(spec.requester_signature)
    nonce = seal.nonce if seal is not None else ""
    return _mac(key, {"seal": "binding", "request": request_uid, "nonce": nonce})


def binds(key: bytes, request_uid: str, spec: AccessRequestSpec, recorded: str | None) -> bool:
    return bool(recorded) and hmac.compare_digest(str(recorded).encode(),
                                                  binding(key, request_uid, spec).encode())


def nonce_of(spec: AccessRequestSpec) -> str | None:
    seal = Seal.parse(spec.requester_signature)
    return seal.nonce if seal is not None else None


# -- reviews and releases ----------------------------------------------------------------------------


def _review_claim(request_uid: str, review: Review) -> dict[str, Any]:
    fields = review.model_dump(mode="json", by_alias=True, exclude={"signature"})
    fields["groups"] = sorted(set(fields.get("groups") or []))
    return {"seal": "review", "request": request_uid, "review": fields}


def seal_review(key: bytes, request_uid: str, review: Review) -> str:
    return _seal(key, _review_claim(request_uid, review), review.time)


def verify_review(key: bytes, request_uid: str, review: Review) -> Verdict:
    return _check(key, _review_claim(request_uid, review), review.signature, review.time)


def _release_claim(request_uid: str, released_by: str) -> dict[str, Any]:
    return {"seal": "release", "request": request_uid, "releasedBy": released_by}


def seal_release(key: bytes, request_uid: str, released_by: str, stamped_at: datetime) -> str:
    return _seal(key, _release_claim(request_uid, released_by), stamped_at)


def verify_release(key: bytes, request_uid: str, spec: AccessRequestSpec) -> Verdict:
    """Whether the request's `release` was stamped by the webhook for this very object."""
    if not spec.release:
        return MISSING_SEAL
    return _check(key, _release_claim(request_uid, spec.released_by or ""), spec.release_signature, None)


# -- issuers -----------------------------------------------------------------------------------------


def _issuer_claim(namespace: str, spec: GrantSpec) -> dict[str, Any]:
    granted = spec.model_dump(mode="json", by_alias=True, exclude={"issued_by_signature"})
    return {"seal": "issuer", "namespace": namespace, "spec": granted}


def seal_issuer(key: bytes, namespace: str, spec: GrantSpec, stamped_at: datetime) -> str:
    return _seal(key, _issuer_claim(namespace, spec), stamped_at)


def verify_issuer(key: bytes, namespace: str, spec: GrantSpec, created_at: datetime) -> Verdict:
    return _check(key, _issuer_claim(namespace, spec), spec.issued_by_signature, created_at)
