"""The answer of a policy check: allowed, or a reason code from the API plus a message for people."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from strongroom.api.accessrequest import RejectionReason


@dataclass(frozen=True)
class Decision:
    """`reason` is None exactly when `allowed`; `until` is how long an allowed answer holds (None: no
    known end), e.g. the end of the member's schedule window or of its membership."""

    allowed: bool
    reason: RejectionReason | None = None
    message: str = ""
    until: datetime | None = None

    @classmethod
    def allow(cls, message: str = "", until: datetime | None = None) -> Decision:
        return cls(True, None, message, until)

    @classmethod
    def deny(cls, reason: RejectionReason, message: str) -> Decision:
        return cls(False, reason, message)
