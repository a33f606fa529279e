from typing import Any

import pytest

from strongroom.api.accessrequest import RejectionReason
from strongroom.api.safe import LabelSelectorRequirement, SafeSpec
from strongroom.policy.decision import Decision
from strongroom.policy.eligibility import check_justification, check_requester
from strongroom.policy.selectors import requirement_matches

from .builders import at, policy, safe

NOW = at("2025-03-03T09:00:00Z")  # Monday 10:00 in Berlin


def check(spec: SafeSpec, user: str = "alice", groups: tuple[str, ...] = (), **kwargs: Any) -> Decision:
    namespace = kwargs.pop("namespace", "team")
    labels = kwargs.pop("labels", {})
    return check_requester(spec, user, groups, namespace, labels, now=kwargs.pop("now", NOW))


def test_a_member_named_by_user_is_allowed_without_an_end() -> None:
    decision = check(safe())
    assert decision.allowed and decision.reason is None
    assert decision.until is None


def test_a_member_by_group_is_allowed() -> None:
    assert check(safe(), user="erin", groups=("system:authenticated", "dba")).allowed


def test_someone_in_no_entry_is_not_a_member() -> None:
    decision = check(safe(), user="mallory", groups=("devs",))
    assert decision.reason == RejectionReason.NOT_A_MEMBER
    assert "mallory is not a member" in decision.message


def test_a_blocked_safe_refuses_even_its_members() -> None:
    decision = check(safe(blocked=True, blockedReason="incident 7"))
    assert decision.reason == RejectionReason.SAFE_BLOCKED
    assert "incident 7" in decision.message


def test_membership_starts_at_valid_from_itself() -> None:
    spec = safe(members=[{"users": ["alice"], "validFrom": "2025-03-03T09:00:00Z"}])
    assert check(spec, now=at("2025-03-03T09:00:00Z")).allowed
    early = check(spec, now=at("2025-03-03T08:59:59Z"))
    assert early.reason == RejectionReason.NOT_A_MEMBER
    assert "starts at 2025-03-03T09:00:00Z" in early.message


def test_membership_ends_just_before_valid_until_and_bounds_the_decision() -> None:
    spec = safe(members=[{"users": ["alice"], "validUntil": "2025-03-03T12:00:00Z"}])
    last_second = check(spec, now=at("2025-03-03T11:59:59Z"))
    assert last_second.allowed and last_second.until == at("2025-03-03T12:00:00Z")
    ended = check(spec, now=at("2025-03-03T12:00:00Z"))
    assert ended.reason == RejectionReason.NOT_A_MEMBER
    assert "has ended" in ended.message


OFFICE = {
    "name": "office",
    "timeZone": "Europe/Berlin",
    "windows": [{"days": ["Mon", "Tue", "Wed", "Thu", "Fri"], "from": "08:00", "to": "18:00"}],
}


def test_a_scheduled_member_is_allowed_inside_the_window_until_it_ends() -> None:
    spec = safe(members=[{"groups": ["dba"], "schedule": "office"}], schedules=[OFFICE])
    decision = check(spec, user="erin", groups=("dba",))
    assert decision.allowed
    assert decision.until == at("2025-03-03T17:00:00Z")


def test_a_scheduled_member_is_refused_outside_the_window() -> None:
    spec = safe(members=[{"groups": ["dba"], "schedule": "office"}], schedules=[OFFICE])
    decision = check(spec, user="erin", groups=("dba",), now=at("2025-03-03T18:00:00Z"))
    assert decision.reason == RejectionReason.OUTSIDE_SCHEDULE
    assert "office" in decision.message


def test_an_unscheduled_entry_outlasts_a_scheduled_one_for_the_same_person() -> None:
    spec = safe(members=[{"groups": ["dba"], "schedule": "office"}, {"users": ["alice"]}], schedules=[OFFICE])
    evening = check(spec, groups=("dba",), now=at("2025-03-03T20:00:00Z"))
    assert evening.allowed and evening.until is None


def test_the_earlier_of_membership_end_and_window_end_bounds_the_decision() -> None:
    spec = safe(
        members=[{"users": ["alice"], "schedule": "office", "validUntil": "2025-03-03T12:00:00Z"}],
        schedules=[OFFICE],
    )
    assert check(spec).until == at("2025-03-03T12:00:00Z")


def test_a_safe_without_allowed_namespaces_delivers_nowhere() -> None:
    spec = safe(policy={})
    decision = check(spec)
    assert decision.reason == RejectionReason.NAMESPACE_NOT_ALLOWED
    assert "namespace team" in decision.message


def test_a_namespace_not_named_is_refused() -> None:
    assert check(safe(), namespace="other").reason == RejectionReason.NAMESPACE_NOT_ALLOWED


def selected(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    spec = safe(policy={"allowedNamespaces": {"selector": selector}})
    return check(spec, namespace="elsewhere", labels=labels).allowed


def test_an_empty_selector_matches_every_namespace() -> None:
    assert selected({}, {})


def test_match_labels_need_every_label_with_its_value() -> None:
    assert selected({"matchLabels": {"env": "prod", "team": "db"}}, {"env": "prod", "team": "db", "x": "y"})
    assert not selected({"matchLabels": {"env": "prod", "team": "db"}}, {"env": "prod"})
    assert not selected({"matchLabels": {"env": "prod"}}, {"env": "dev"})


@pytest.mark.parametrize(
    ("operator", "values", "labels", "expected"),
    [
        ("In", ["prod", "staging"], {"env": "staging"}, True),
        ("In", ["prod"], {"env": "dev"}, False),
        ("In", ["prod"], {}, False),
        ("NotIn", ["prod"], {"env": "dev"}, True),
        ("NotIn", ["prod"], {"env": "prod"}, False),
        ("NotIn", ["prod"], {}, True),
        ("Exists", [], {"env": ""}, True),
        ("Exists", [], {}, False),
        ("DoesNotExist", [], {}, True),
        ("DoesNotExist", [], {"env": "prod"}, False),
    ],
)
def test_match_expressions_follow_kubernetes_semantics(
    operator: str, values: list[str], labels: dict[str, str], expected: bool
) -> None:
    selector = {"matchExpressions": [{"key": "env", "operator": operator, "values": values}]}
    assert selected(selector, labels) is expected


def test_a_member_schedule_the_safe_does_not_define_is_a_configuration_error() -> None:
    spec = safe().model_copy(update={"members": [safe().members[0].model_copy(update={"schedule": "gone"})]})
    with pytest.raises(ValueError, match="'gone' is not one of the Safe's schedules"):
        check(spec)


def test_a_reason_is_needed_only_where_the_safe_requires_it() -> None:
    assert check_justification(policy().policy, None, None).allowed
    required = policy(requireReason=True).policy
    assert check_justification(required, "   ", None).reason == RejectionReason.REASON_REQUIRED
    assert check_justification(required, "incident 42", None).allowed


def test_a_ticket_is_needed_only_where_the_safe_requires_it() -> None:
    required = policy(requireTicket=True).policy
    assert check_justification(required, "why", None).reason == RejectionReason.TICKET_REQUIRED
    assert check_justification(required, None, "CHG-1").allowed


def test_the_longest_lasting_membership_decides_how_long_access_holds() -> None:
    spec = safe(
        members=[
            {"users": ["alice"], "validUntil": "2025-03-03T12:00:00Z"},
            {"groups": ["dba"], "validUntil": "2025-03-03T15:00:00Z"},
            {"users": ["alice"], "validUntil": "2025-03-03T13:00:00Z"},
        ]
    )
    decision = check(spec, groups=("dba",))
    assert decision == Decision.allow("alice is a member of the Safe", until=at("2025-03-03T15:00:00Z"))


def test_an_ended_membership_names_the_user_in_its_refusal() -> None:
    spec = safe(members=[{"users": ["alice"], "validUntil": "2025-03-03T08:00:00Z"}])
    assert check(spec).message == "alice's membership of the Safe has ended"


def test_a_membership_that_starts_and_ends_at_the_same_moment_has_ended_at_that_moment() -> None:
    moment = "2025-03-03T09:00:00Z"  # NOW
    spec = safe(members=[{"users": ["alice"], "validFrom": moment, "validUntil": moment}])
    assert check(spec).message == "alice's membership of the Safe has ended"


def test_a_refusal_outside_every_schedule_names_each_of_them_once_in_order() -> None:
    night = {"name": "night", "timeZone": "UTC", "windows": [{"days": ["Mon"], "from": "22:00", "to": "06:00"}]}
    spec = safe(
        members=[
            {"users": ["alice"], "schedule": "office"},
            {"groups": ["dba"], "schedule": "night"},
            {"groups": ["dba"], "schedule": "office"},
        ],
        schedules=[OFFICE, night],
    )
    decision = check(spec, groups=("dba",), now=at("2025-03-03T18:00:00Z"))
    assert decision.message == "2025-03-03T18:00:00Z is outside the schedule night, office"


def test_a_missing_reason_or_ticket_is_refused_in_words() -> None:
    both = policy(requireReason=True, requireTicket=True).policy
    assert check_justification(both, None, "CHG-1") == Decision.deny(
        RejectionReason.REASON_REQUIRED, "the Safe requires a reason for every request"
    )
    assert check_justification(both, "why", " ") == Decision.deny(
        RejectionReason.TICKET_REQUIRED, "the Safe requires a ticket for every request"
    )
    assert check_justification(both, "why", "CHG-1") == Decision.allow()


def test_a_selector_operator_kubernetes_does_not_define_is_a_clear_error() -> None:
    # Bypasses model validation, as an object built in code (not read from the API) could.
    requirement = LabelSelectorRequirement.model_construct(key="env", operator="Near", values=[])
    with pytest.raises(ValueError, match=r"^unknown selector operator 'Near'$"):
        requirement_matches(requirement, {})
