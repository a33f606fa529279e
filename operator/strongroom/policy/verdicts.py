"""Whether a seal was honoured, and if not why: the shell verifies seals (it holds the key), the pure
policy only reads the verdicts."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Unverified(enum.StrEnum):
    """Why a seal is not honoured; each becomes a condition reason the operator reports."""

    MISSING = "SignatureMissing"
    MALFORMED = "SignatureMalformed"
    MISMATCH = "SignatureMismatch"
    STALE = "SignatureStale"
    REUSED = "SignatureReused"


_MESSAGES = {
    None: "signature verified",
    Unverified.MISSING: "no signature: it was not admitted through Strongroom's webhook",
    Unverified.MALFORMED: "the signature is malformed",
    Unverified.MISMATCH: "the signature does not match: the identity or the object was altered",
    Unverified.STALE: "the signature was made for another object (stamped at another time)",
    Unverified.REUSED: "the signature was already honoured for another object: it was copied",
}


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: Unverified | None = None

    @property
    def message(self) -> str:
        return _MESSAGES[self.reason]


VERIFIED = Verdict(True)
MISSING_SEAL = Verdict(False, Unverified.MISSING)
