from strongroom.policy.approvals import approval_deadline, approval_timed_out, count_reviews

from .builders import at, policy, review, safe, signed

TWO = policy(requiredApprovals=2)


def test_distinct_approvers_by_name_or_group_are_counted() -> None:
    tally = count_reviews(TWO, [review("bob"), review("erin", groups=["dba-leads"])], "alice", signed)
    assert tally.approved_by == ("bob", "erin")
    assert (tally.received, tally.required, tally.missing) == (2, 2, 0)
    assert tally.approved and not tally.denied


def test_the_requester_is_never_counted_even_when_an_approver() -> None:
    tally = count_reviews(TWO, [review("bob"), review("carol")], "carol", signed)
    assert tally.approved_by == ("bob",)
    assert tally.missing == 1 and not tally.approved
    assert tally.ignored[0].user == "carol" and "requester" in tally.ignored[0].why


def test_a_second_review_by_the_same_approver_is_counted_once() -> None:
    tally = count_reviews(TWO, [review("bob"), review("bob", time="2025-03-03T10:06:00Z")], "alice", signed)
    assert tally.received == 1
    assert "already reviewed" in tally.ignored[0].why


def test_an_approver_removed_from_the_safe_is_no_longer_counted() -> None:
    reviews = [review("bob"), review("carol")]
    assert count_reviews(TWO, reviews, "alice", signed).received == 2
    without_carol = safe(approvers={"users": ["bob"]}, policy={"requiredApprovals": 2})
    tally = count_reviews(without_carol, reviews, "alice", signed)
    assert tally.approved_by == ("bob",)
    assert "not an approver" in tally.ignored[0].why


def test_a_group_approver_counts_only_with_the_group_recorded_in_the_review() -> None:
    tally = count_reviews(TWO, [review("erin")], "alice", signed)
    assert tally.received == 0


def test_a_review_whose_signature_does_not_verify_is_not_counted() -> None:
    forged = review("bob", signature="written-while-the-webhook-was-down")
    tally = count_reviews(TWO, [forged, review("carol")], "alice", signed)
    assert tally.approved_by == ("carol",)
    assert "signature" in tally.ignored[0].why


def test_one_valid_deny_denies_the_request() -> None:
    tally = count_reviews(TWO, [review("bob"), review("carol", "Deny")], "alice", signed)
    assert tally.denied and tally.denied_by == ("carol",)
    assert not tally.approved


def test_a_deny_by_someone_who_is_not_an_approver_changes_nothing() -> None:
    tally = count_reviews(TWO, [review("mallory", "Deny")], "alice", signed)
    assert not tally.denied


def test_zero_required_approvals_approve_at_once() -> None:
    tally = count_reviews(policy(requiredApprovals=0), [], "alice", signed)
    assert tally.approved and tally.missing == 0


def test_only_counted_approvals_narrow_the_window() -> None:
    reviews = [
        review("bob", notAfter="2025-03-03T12:00:00Z"),
        review("mallory", notAfter="2025-03-03T10:30:00Z"),
        review("carol", notAfter="2025-03-03T11:00:00Z"),
    ]
    assert count_reviews(TWO, reviews, "alice", signed).narrowed_until == at("2025-03-03T11:00:00Z")
    assert count_reviews(TWO, [review("bob")], "alice", signed).narrowed_until is None


def test_reviews_after_the_approval_timeout_are_not_counted() -> None:
    deadline = at("2025-03-03T10:00:00Z")
    tally = count_reviews(TWO, [review("bob", time="2025-03-03T10:00:01Z")], "alice", signed, deadline)
    assert tally.received == 0 and "timeout" in tally.ignored[0].why


def test_a_request_times_out_once_the_approval_timeout_has_passed() -> None:
    spec = policy(approvalTimeout="2h")
    created = at("2025-03-03T09:00:00Z")
    assert approval_deadline(created, spec) == at("2025-03-03T11:00:00Z")
    assert not approval_timed_out(created, spec, at("2025-03-03T10:59:59Z"))
    assert approval_timed_out(created, spec, at("2025-03-03T11:00:00Z"))


def test_each_review_not_counted_says_exactly_why() -> None:
    deadline = at("2025-03-03T10:30:00Z")
    reviews = [
        review("bob", signature="forged"),
        review("alice"),
        review("mallory"),
        review("carol", time="2025-03-03T10:30:01Z"),
        review("erin", groups=["dba-leads"]),
        review("erin", "Deny", groups=["dba-leads"]),
    ]
    tally = count_reviews(TWO, reviews, "alice", signed, deadline)
    assert [(ignored.user, ignored.why) for ignored in tally.ignored] == [
        ("bob", "its signature is missing or not valid"),
        ("alice", "the requester cannot review their own request"),
        ("mallory", "not an approver of the Safe"),
        ("carol", "made after the approval timeout"),
        ("erin", "this approver already reviewed the request"),
    ]
    assert tally.approved_by == ("erin",) and not tally.denied


def test_a_review_made_at_the_approval_deadline_itself_still_counts() -> None:
    deadline = at("2025-03-03T10:00:00Z")
    tally = count_reviews(TWO, [review("bob", time="2025-03-03T10:00:00Z")], "alice", signed, deadline)
    assert tally.approved_by == ("bob",)
