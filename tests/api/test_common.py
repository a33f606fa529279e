from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from strongroom.api.accessrequest import AccessRequestSpec
from strongroom.api.common import (
    Condition,
    ConditionStatus,
    HistoryEntry,
    append_history,
    find_condition,
    format_time,
    set_condition,
)
from strongroom.api.safe import SafeSpec

T0 = datetime(2025, 6, 1, 10, 0, tzinfo=UTC)
T1 = T0 + timedelta(minutes=5)


def ready(status: str, at: datetime, reason: str = "Valid") -> Condition:
    return Condition(type="Ready", status=ConditionStatus(status), reason=reason, last_transition_time=at)


def test_setting_a_condition_with_the_same_status_keeps_its_transition_time() -> None:
    updated = set_condition([ready("True", T0)], ready("True", T1, reason="StillValid"))
    assert updated[0].last_transition_time == T0
    assert updated[0].reason == "StillValid"


def test_setting_a_condition_with_a_new_status_moves_its_transition_time() -> None:
    updated = set_condition([ready("True", T0)], ready("False", T1, reason="SecretMissing"))
    assert (updated[0].status, updated[0].last_transition_time) == ("False", T1)


def test_a_new_condition_type_is_appended_and_the_input_is_left_alone() -> None:
    original = [ready("True", T0)]
    approved = Condition(type="Approved", status=ConditionStatus.TRUE, last_transition_time=T1)
    updated = set_condition(original, approved)
    assert [c.type for c in updated] == ["Ready", "Approved"]
    assert len(original) == 1
    assert find_condition(updated, "Approved") == approved
    assert find_condition(updated, "Missing") is None


def test_history_keeps_the_first_entry_and_the_latest_ones() -> None:
    history: list[HistoryEntry] = []
    for i in range(105):
        entry = HistoryEntry(time=T0 + timedelta(seconds=i), actor="op", event=f"E{i}")
        history = append_history(history, entry)
    assert len(history) == 100
    assert history[0].event == "E0"
    assert history[1].event == "E6" and history[-1].event == "E104"


def test_times_are_written_in_utc_with_a_z() -> None:
    berlin = timezone(timedelta(hours=2))
    entry = HistoryEntry(time=datetime(2025, 6, 1, 12, 0, tzinfo=berlin), actor="a", event="E")
    assert entry.model_dump(mode="json", by_alias=True)["time"] == "2025-06-01T10:00:00Z"
    assert format_time(datetime(2025, 6, 1, 10, 0, 0, 250000, tzinfo=UTC)) == "2025-06-01T10:00:00.250000Z"


def test_a_time_without_a_zone_is_refused() -> None:
    with pytest.raises(ValidationError, match="time zone"):
        HistoryEntry(time=datetime(2025, 6, 1, 10, 0), actor="a", event="E")


def test_a_blocked_safe_needs_a_reason_in_python_as_in_the_api() -> None:
    with pytest.raises(ValidationError, match="blockedReason is required"):
        SafeSpec.model_validate({"blocked": True})
    assert SafeSpec.model_validate({"blocked": True, "blockedReason": "audit"}).blocked


def test_a_member_schedule_must_exist_in_python_as_in_the_api() -> None:
    with pytest.raises(ValidationError, match="'office' is not one of the Safe's schedules"):
        SafeSpec.model_validate({"members": [{"users": ["alice"], "schedule": "office"}]})


def test_a_request_gives_a_duration_or_a_window_not_both() -> None:
    spec = {
        "account": {"namespace": "vault", "name": "pg"},
        "duration": "1h",
        "window": {"start": "2025-06-01T10:00:00Z", "end": "2025-06-01T11:00:00Z"},
    }
    with pytest.raises(ValidationError, match="either duration or window"):
        AccessRequestSpec.model_validate(spec)


def test_python_names_and_wire_names_both_populate_a_model() -> None:
    by_wire = AccessRequestSpec.model_validate({"account": {"namespace": "v", "name": "a"}, "secretName": "s"})
    by_python = AccessRequestSpec(account={"namespace": "v", "name": "a"}, secret_name="s")
    assert by_wire == by_python
