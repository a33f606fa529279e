"""HMAC-SHA256 seals over what the admission webhooks stamp: requesters, reviews, direct issuers.

A seal binds the identity to everything it vouches for, so it cannot be moved to another object or
kept across an edit. Requester and issuer seals also carry the moment they were stamped, which must
match the object's creationTimestamp: a seal copied onto a new object (written while the webhook was
bypassed) is stale and refused. Reviews are bound to the request's uid, which exists when a review
is admitted (the status subresource only updates existing objects).

Format: `v1:<stamped-at, RFC 3339>:<base64url HMAC>`; the key never leaves the operator.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from strongroom.api.accessrequest import AccessRequestSpec, Review
from strongroom.api.common import format_time
from strongroom.api.grant import GrantSpec

VERSION = "v1"
# How far a stamp may lie from the object's creationTimestamp (admission precedes storage).
FRESHNESS = timedelta(seconds=30)


class Unverified(enum.StrEnum):
    """Why a seal is not honoured; each becomes a condition reason the operator reports."""

    MISSING = "SignatureMissing"
    MALFORMED = "SignatureMalformed"
    MISMATCH = "SignatureMismatch"
    STALE = "SignatureStale"


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: Unverified | None = None

    @property
    def message(self) -> str:
        return {
            None: "signature verified",
            Unverified.MISSING: "no signature: it was not admitted through Strongroom's webhook",
            Unverified.MALFORMED: "the signature is malformed",
            Unverified.MISMATCH: "the signature does not match: the identity or the object was altered",
            Unverified.STALE: "the signature was made for another object (stamped at another time)",
        }[self.reason]


VERIFIED = Verdict(True)


def _mac(key: bytes, claim: Mapping[str, Any]) -> str:
    canonical = json.dumps(claim, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    digest = hmac.new(key, canonical.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _seal(key: bytes, claim: dict[str, Any], stamped_at: datetime) -> str:
    stamp = format_time(stamped_at)
    return f"{VERSION}:{stamp}:{_mac(key, {**claim, 'stampedAt': stamp})}"


def _check(key: bytes, claim: dict[str, Any], seal: str | None, created_at: datetime | None) -> Verdict:
    if not seal:
        return Verdict(False, Unverified.MISSING)
    version, _, rest = seal.partition(":")
    stamp, _, mac = rest.rpartition(":")
    if version != VERSION or not stamp or not mac:
        return Verdict(False, Unverified.MALFORMED)
    try:
        stamped_at = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return Verdict(False, Unverified.MALFORMED)
    if not hmac.compare_digest(mac, _mac(key, {**claim, "stampedAt": stamp})):
        return Verdict(False, Unverified.MISMATCH)
    if created_at is not None and abs(created_at - stamped_at) > FRESHNESS:
        return Verdict(False, Unverified.STALE)
    return VERIFIED


def _requester_claim(namespace: str, spec: AccessRequestSpec) -> dict[str, Any]:
    # Everything the requester asked for, except `release`, the one field that may change later.
    asked = spec.model_dump(mode="json", by_alias=True, exclude={"requester_signature", "release"})
    asked["requesterGroups"] = sorted(set(asked.get("requesterGroups") or []))
    return {"seal": "requester", "namespace": namespace, "spec": asked}


def seal_requester(key: bytes, namespace: str, spec: AccessRequestSpec, stamped_at: datetime) -> str:
    return _seal(key, _requester_claim(namespace, spec), stamped_at)


def verify_requester(key: bytes, namespace: str, spec: AccessRequestSpec, created_at: datetime) -> Verdict:
    return _check(key, _requester_claim(namespace, spec), spec.requester_signature, created_at)


def _review_claim(request_uid: str, review: Review) -> dict[str, Any]:
    fields = review.model_dump(mode="json", by_alias=True, exclude={"signature"})
    fields["groups"] = sorted(set(fields.get("groups") or []))
    return {"seal": "review", "request": request_uid, "review": fields}


def seal_review(key: bytes, request_uid: str, review: Review) -> str:
    return _seal(key, _review_claim(request_uid, review), review.time)


def verify_review(key: bytes, request_uid: str, review: Review) -> Verdict:
    return _check(key, _review_claim(request_uid, review), review.signature, review.time)


def _issuer_claim(namespace: str, spec: GrantSpec) -> dict[str, Any]:
    granted = spec.model_dump(mode="json", by_alias=True, exclude={"issued_by_signature"})
    return {"seal": "issuer", "namespace": namespace, "spec": granted}


def seal_issuer(key: bytes, namespace: str, spec: GrantSpec, stamped_at: datetime) -> str:
    return _seal(key, _issuer_claim(namespace, spec), stamped_at)


def verify_issuer(key: bytes, namespace: str, spec: GrantSpec, created_at: datetime) -> Verdict:
    return _check(key, _issuer_claim(namespace, spec), spec.issued_by_signature, created_at)
