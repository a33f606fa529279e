"""The audit report names as approvers only the reviews the operator counted, and says why the others
were not (pure; no cluster)."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from strongroom.api.accessrequest import AccessRequest
from strongroom.api.safe import SafeSpec
from strongroom.policy.policyhash import policy_hash
from strongroom.recovery.audit import COLUMNS, report_rows, requester_of, split_reviews
from strongroom.recovery.tables import to_csv

SAFE = SafeSpec.model_validate({"members": [{"groups": ["dev"]}],
                                "approvers": {"users": ["bob", "carol", "dave", "erin"], "groups": ["leads"]},
                                "policy": {"requiredApprovals": 1, "approvalTimeout": "1h"}})
POLICIES = {("vault", "prod"): SAFE}
SAFE_OF = {("vault", "db"): "prod"}
SEAL_OK = {"type": "UnverifiedRequester", "status": "False", "reason": "SignatureVerified",
           "message": "requester alice: signature verified", "lastTransitionTime": "2026-03-01T09:00:01Z"}


def review(user: str, minute: int, decision: str = "Approve", groups: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"user": user, "groups": list(groups), "decision": decision, "time": f"2026-03-01T{9 + minute // 60:02d}:"
            f"{minute % 60:02d}:00Z", "signature": "sealed"}


def condition(type_: str, status: str, message: str) -> dict[str, Any]:
    return {"type": type_, "status": status, "reason": "r", "message": message,
            "lastTransitionTime": "2026-03-01T09:00:01Z"}


def request(reviews: list[dict[str, Any]], *, phase: str = "Active", received: int = 1, decided: int | None = 30,
            conditions: tuple[dict[str, Any], ...] = (SEAL_OK,), requester: str = "alice", name: str = "r1",
            **status: Any) -> AccessRequest:
    return AccessRequest.from_object({
        "apiVersion": "strongroom.dev/v1alpha1", "kind": "AccessRequest",
        "metadata": {"name": name, "namespace": "team", "uid": "u1", "creationTimestamp": "2026-03-01T09:00:00Z"},
        "spec": {"account": {"namespace": "vault", "name": "db"}, "requester": requester, "reason": "fix"},
        "status": {"phase": phase, "reviews": reviews, "approvalsRequired": 1, "approvalsReceived": received,
                   "conditions": list(conditions), "createdAt": "2026-03-01T09:00:00Z", "policyHash": policy_hash(SAFE),
                   **({"decidedAt": review("x", decided)["time"]} if decided is not None else {}), **status},
    })


def ignored(split: Any) -> dict[str, str]:
    return {i.review.user: i.why for i in split.ignored}


def test_only_counted_reviews_are_approvals_and_each_ignored_one_says_why() -> None:
    failed = condition("UnverifiedReview", "True", "reviews not counted, their seal failed: "
                       "dave (no signature: it was not admitted through Strongroom's webhook)")
    reviews = [review("alice", 1), review("mallory", 2), review("dave", 3), review("bob", 4), review("bob", 5),
               review("erin", 45), review("carol", 70)]
    reviews[4]["decision"] = "Deny"  # a second review by bob: only his first can count
    reviews[5]["decision"] = "Deny"
    split = split_reviews(request(reviews, conditions=(SEAL_OK, failed), decided=80), SAFE)
    assert split.approved_by == ("bob",) and split.denied_by == ()
    assert ignored(split) == {
        "alice": "the requester cannot review their own request",
        "mallory": "not an approver of the Safe",
        "dave": "its seal failed (no signature: it was not admitted through Strongroom's webhook)",
        "bob": "this approver already reviewed the request",
        "erin": "not counted by the operator: the request was not denied",  # a deny that did not end it
        "carol": "made after the approval timeout",
    }


def test_an_approver_by_group_counts_and_a_review_after_the_decision_does_not() -> None:
    split = split_reviews(request([review("gina", 1, groups=("leads",)), review("bob", 40)]), SAFE)
    assert split.approved_by == ("gina",) and ignored(split) == {"bob": "made after the request was decided"}


def test_without_the_safe_what_the_status_cannot_settle_is_not_verified() -> None:
    two = request([review("bob", 1), review("mallory", 2)])
    assert split_reviews(two, SAFE).approved_by == ("bob",)
    split = split_reviews(two)
    assert split.approved_by == ()
    assert ignored(split) == dict.fromkeys(("bob", "mallory"), "not verified: the operator counted 1 approval(s) and 2 "
                                           "could have counted; the Safe it was decided under is not at hand")
    # ...but when the status leaves exactly as many as were counted, those are the ones
    assert split_reviews(request([review("bob", 1), review("alice", 2)])).approved_by == ("bob",)


def test_a_safe_changed_since_the_decision_is_not_used_to_judge_reviews() -> None:
    changed = SAFE.model_copy(update={"approvers": SAFE.approvers.model_copy(update={"users": ["mallory"]})})
    rows = report_rows([(request([review("bob", 1), review("mallory", 2)]), "live")], SAFE_OF,
                       policies={("vault", "prod"): changed})
    assert rows[0]["approvedBy"] == "" and "not verified" in rows[0]["ignoredReviews"]


def test_approvals_the_operator_never_counted_are_not_named() -> None:
    split = split_reviews(request([review("bob", 1)], phase="Rejected", received=0), SAFE)
    assert split.approved_by == () and ignored(split) == {"bob": "not counted by the operator"}


def test_an_unverified_requester_is_a_claim_and_none_of_the_reviews_count() -> None:
    unsealed = request([review("bob", 1)], phase="Rejected", received=0,
                       conditions=(condition("UnverifiedRequester", "True", "requester alice: no signature"),))
    assert requester_of(unsealed) == "unverified (claims alice)"
    assert ignored(split_reviews(unsealed, SAFE)) == {
        "bob": "the requester is not verified: no review of this request counts"}
    assert requester_of(request([review("bob", 1)])) == "alice"


def test_a_requester_is_named_without_the_condition_only_when_the_operator_bound_the_seal() -> None:
    # approved at first sight (no approval required): the operator wrote the binding but no condition
    assert requester_of(request([], received=0, conditions=(), requesterBinding="b1")) == "alice"
    assert requester_of(request([], received=0, conditions=(), phase="Pending", decided=None)) == \
        "unverified (claims alice)"


def test_the_deny_that_ended_a_request_is_named_and_more_than_one_needs_the_safe() -> None:
    one = split_reviews(request([review("bob", 1, "Deny")], phase="Denied", received=0))
    assert one.denied_by == ("bob",) and one.ignored == ()
    two = [review("bob", 1, "Deny"), review("carol", 2, "Deny")]
    assert split_reviews(request(two, phase="Denied", received=0)).denied_by == ()
    all_sealed = condition("UnverifiedReview", "False", "no review was ignored for its seal")
    assert split_reviews(request(two, phase="Denied", received=0, conditions=(SEAL_OK, all_sealed)),
                         SAFE).denied_by == ("bob", "carol")
    truncated = condition("UnverifiedReview", "True", "reviews not counted, their seal failed: "
                          "x (the signature is malformed); and 5 more")
    split = split_reviews(request(two, phase="Denied", received=0, conditions=(SEAL_OK, truncated)), SAFE)
    assert split.denied_by == () and ignored(split)["carol"].startswith("not verified: the report cannot tell which")


def test_rows_carry_the_split_in_json_and_csv_and_filter_by_the_claimed_requester() -> None:
    unsealed = request([review("bob", 1)], received=0, phase="Rejected", name="r2", requester="mallory",
                       conditions=(condition("UnverifiedRequester", "True", "requester mallory: no signature"),))
    pairs = [(request([review("bob", 1), review("mallory", 2)]), "live"), (unsealed, "restored")]
    rows = report_rows(pairs, SAFE_OF, policies=POLICIES)
    first, second = rows
    assert (first["requester"], first["approvedBy"], first["ignoredReviews"]) == (
        "alice", "bob", "mallory (Approve): not an approver of the Safe")
    assert (second["requester"], second["approvedBy"]) == ("unverified (claims mallory)", "")
    assert json.loads(json.dumps(rows)) == rows
    parsed = list(csv.DictReader(io.StringIO(to_csv(COLUMNS, rows))))
    assert parsed[0]["ignoredReviews"] == first["ignoredReviews"] and list(parsed[0]) == list(COLUMNS)
    assert [r["request"] for r in report_rows(pairs, SAFE_OF, user="mallory")] == ["r2"]


def test_a_review_within_the_second_of_the_decision_counted() -> None:
    # decidedAt is the Grant's creationTimestamp (whole seconds); the review that decided came within it.
    within = review("bob", 30)
    within["time"] = within["time"].replace("Z", ".734Z")
    after = review("bob", 31)
    assert split_reviews(request([within]), SAFE).approved_by == ("bob",)
    assert ignored(split_reviews(request([after], received=0), SAFE)) == {"bob": "made after the request was decided"}
