"""Seals over stamped identities: honoured only when made with the key, for this object, unaltered."""

from __future__ import annotations

from datetime import timedelta

from strongroom.api.accessrequest import AccessRequestSpec, Review, ReviewDecision
from strongroom.api.grant import GrantSpec
from strongroom.identity.ledger import SealLedger
from strongroom.identity.signing import (
    Seal,
    binding,
    binds,
    nonce_of,
    seal_issuer,
    seal_release,
    seal_requester,
    seal_review,
    verify_issuer,
    verify_release,
    verify_requester,
    verify_review,
)
from strongroom.policy.verdicts import Unverified
from tests.policy.builders import at

KEY = b"k" * 32
OTHER_KEY = b"o" * 32
STAMPED = at("2030-01-01T10:00:00Z")


def request_spec(**changes: object) -> AccessRequestSpec:
    wire = {"account": {"namespace": "vault", "name": "db"}, "reason": "INC-7", "duration": "30m",
            "requester": "alice", "requesterGroups": ["dev", "system:authenticated"], **changes}
    return AccessRequestSpec.model_validate(wire)


def sealed_request(**changes: object) -> AccessRequestSpec:
    spec = request_spec(**changes)
    return spec.model_copy(update={"requester_signature": seal_requester(KEY, "team", spec, STAMPED)})


def test_a_requester_sealed_with_the_key_is_verified_at_its_creation_time() -> None:
    assert verify_requester(KEY, "team", sealed_request(), STAMPED + timedelta(seconds=1)).ok


def test_group_order_does_not_matter() -> None:
    spec = sealed_request().model_copy(update={"requester_groups": ["system:authenticated", "dev"]})
    assert verify_requester(KEY, "team", spec, STAMPED).ok


def test_a_missing_seal_is_never_honoured() -> None:
    verdict = verify_requester(KEY, "team", request_spec(), STAMPED)
    assert not verdict.ok and verdict.reason is Unverified.MISSING
    assert "webhook" in verdict.message


def test_a_forged_requester_is_refused() -> None:
    forged = sealed_request().model_copy(update={"requester": "bob"})
    assert verify_requester(KEY, "team", forged, STAMPED).reason is Unverified.MISMATCH


def test_an_altered_request_is_refused() -> None:
    altered = sealed_request().model_copy(update={"duration": "8h"})
    assert verify_requester(KEY, "team", altered, STAMPED).reason is Unverified.MISMATCH


def test_a_seal_made_with_another_key_is_refused() -> None:
    assert verify_requester(OTHER_KEY, "team", sealed_request(), STAMPED).reason is Unverified.MISMATCH


def test_a_seal_moved_to_another_namespace_is_refused() -> None:
    assert verify_requester(KEY, "elsewhere", sealed_request(), STAMPED).reason is Unverified.MISMATCH


def test_a_seal_copied_onto_a_later_object_is_stale() -> None:
    assert verify_requester(KEY, "team", sealed_request(), STAMPED + timedelta(minutes=5)).reason is Unverified.STALE


def test_a_malformed_seal_of_any_bytes_is_simply_unverified() -> None:
    genuine = sealed_request().requester_signature or ""
    for seal in ("v1:garbage", "v2:2030-01-01T10:00:00Z:abc", "v2:not-a-time:n:abc", "v2:2030-01-01T10:00:00:n:m",
                 genuine[:-3] + "ñøé", "v2:2030-01-01T10:00:00Z:ñ:ü", "\x00\xff", "v2::::"):
        spec = request_spec().model_copy(update={"requester_signature": seal})
        assert verify_requester(KEY, "team", spec, STAMPED).reason in (Unverified.MALFORMED, Unverified.MISMATCH), seal
    assert Seal.parse(12) is None and Seal.parse("v2:2030-01-01T10:00:00Z:nonce:mac") is not None


def test_release_and_its_stamp_may_change_after_the_seal() -> None:
    released = sealed_request().model_copy(update={"release": True, "released_by": "alice",
                                                   "release_signature": "v2:x:y:z"})
    assert verify_requester(KEY, "team", released, STAMPED).ok


def test_two_seals_of_one_spec_differ_by_their_nonce() -> None:
    assert nonce_of(sealed_request()) != nonce_of(sealed_request())


def test_a_binding_holds_for_the_object_it_was_made_for_only() -> None:
    spec = sealed_request()
    recorded = binding(KEY, "uid-1", spec)
    assert binds(KEY, "uid-1", spec, recorded)
    assert not binds(KEY, "uid-2", spec, recorded), "a copy on another object"
    assert not binds(KEY, "uid-1", sealed_request(), recorded), "another seal (another nonce)"
    assert not binds(OTHER_KEY, "uid-1", spec, recorded) and not binds(KEY, "uid-1", spec, None)


def test_the_ledger_honours_a_nonce_for_one_object_until_its_seal_is_stale_everywhere() -> None:
    ledger = SealLedger()
    assert ledger.claim("n1", "uid-1", STAMPED) and ledger.claim("n1", "uid-1", STAMPED)
    assert not ledger.claim("n1", "uid-2", STAMPED), "the copy"
    ledger.prune(STAMPED + timedelta(seconds=19))
    assert ledger.owner("n1") == "uid-1"
    ledger.prune(STAMPED + timedelta(seconds=21))
    assert ledger.owner("n1") is None and len(ledger) == 0


def test_a_release_is_verified_for_who_released_this_very_request() -> None:
    seal = seal_release(KEY, "uid-1", "alice", STAMPED)
    released = request_spec(release=True, releasedBy="alice", releaseSignature=seal)
    assert verify_release(KEY, "uid-1", released).ok
    assert verify_release(KEY, "uid-2", released).reason is Unverified.MISMATCH
    assert verify_release(KEY, "uid-1", released.model_copy(update={"released_by": "erin"})).reason is \
        Unverified.MISMATCH
    assert verify_release(KEY, "uid-1", request_spec(release=True)).reason is Unverified.MISSING


def review(**changes: object) -> Review:
    wire = {"user": "bob", "groups": ["sre-leads"], "decision": "Approve", "comment": "ok",
            "time": "2030-01-01T10:05:00Z", "signature": "", **changes}
    made = Review.model_validate(wire)
    return made.model_copy(update={"signature": seal_review(KEY, "uid-1", made)})


def test_a_sealed_review_is_verified_for_its_own_request_only() -> None:
    assert verify_review(KEY, "uid-1", review()).ok
    assert verify_review(KEY, "uid-2", review()).reason is Unverified.MISMATCH


def test_a_review_written_in_another_users_name_or_decision_is_refused() -> None:
    assert verify_review(KEY, "uid-1", review().model_copy(update={"user": "carol"})).reason is Unverified.MISMATCH
    flipped = review(decision="Deny").model_copy(update={"decision": ReviewDecision.APPROVE})
    assert verify_review(KEY, "uid-1", flipped).reason is Unverified.MISMATCH


def test_a_direct_grant_issuer_is_sealed_like_a_requester() -> None:
    spec = GrantSpec.model_validate({
        "account": {"namespace": "vault", "name": "db"}, "subject": {"user": "alice"},
        "notBefore": "2030-01-01T10:00:00Z", "notAfter": "2030-01-01T11:00:00Z",
        "secretName": "db-credential", "source": {"direct": True}, "issuedBy": "admin",
    })
    sealed = spec.model_copy(update={"issued_by_signature": seal_issuer(KEY, "team", spec, STAMPED)})
    assert verify_issuer(KEY, "team", sealed, STAMPED).ok
    widened = sealed.model_copy(update={"not_after": at("2030-01-02T11:00:00Z")})
    assert verify_issuer(KEY, "team", widened, STAMPED).reason is Unverified.MISMATCH
