"""A short, stable fingerprint of the parts of a Safe that decide requests.

Recorded on each request (status.policyHash) so an audit can tell which policy it was decided
under, and so the operator can tell that the Safe changed since.
"""

from __future__ import annotations

import hashlib
import json

from strongroom.api.safe import SafeSpec

# The description and blockedReason explain; they decide nothing.
DECIDING_FIELDS = frozenset({"blocked", "members", "approvers", "policy", "schedules"})
HASH_LENGTH = 16
# Fields added to the policy after hashes were first recorded: written only when they differ from
# their default, so a Safe that does not use them keeps the hash it always had.
_ADDED_LATER = {"allowStandingGrants": False}


def canonical_policy(safe: SafeSpec) -> str:
    """The deciding fields as canonical JSON: wire names, sorted keys, no whitespace.

    Unset optional fields are left out (not written as null), so adding an optional field to the
    API later does not change the hash of Safes that do not use it.
    """
    data = safe.model_dump(mode="json", by_alias=True, include=set(DECIDING_FIELDS), exclude_none=True)
    policy = data.get("policy", {})
    for name, default in _ADDED_LATER.items():
        if policy.get(name) == default:
            del policy[name]
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def policy_hash(safe: SafeSpec) -> str:
    """sha256 of the canonical policy, as 16 hex digits."""
    return hashlib.sha256(canonical_policy(safe).encode()).hexdigest()[:HASH_LENGTH]
