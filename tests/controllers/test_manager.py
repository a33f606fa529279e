"""The work queue's failure log: an API server that is away is said once, not once per object and retry;
an object's own failure is said once per cause."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
import urllib3
from kubernetes.client.exceptions import ApiException

from strongroom.controllers.manager import Key, Manager
from tests.clock import MovableClock

KEYS: list[Key] = [("Grant", "team", f"g{i}") for i in range(50)]


@pytest.fixture
def manager_and_answer(caplog: pytest.LogCaptureFixture) -> tuple[Manager, list[Exception | None]]:
    answer: list[Exception | None] = [None]

    def reconcile(key: Key) -> None:
        if answer[0] is not None:
            raise answer[0]

    caplog.set_level(logging.INFO, logger="test.manager")
    return Manager(MovableClock(), {"Grant": reconcile}, workers=1, log=logging.getLogger("test.manager")), answer


def lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "test.manager"]


def test_an_api_server_away_is_one_line_for_all_objects_and_one_when_it_is_back(
    manager_and_answer: tuple[Manager, list[Exception | None]], caplog: pytest.LogCaptureFixture
) -> None:
    manager, answer = manager_and_answer
    for _ in range(3):
        for key in KEYS:  # each call names its object's URL; the cause is the same
            answer[0] = urllib3.exceptions.MaxRetryError(None, f"/api/v1/namespaces/team/secrets/{key[2]}",  # type: ignore[arg-type]
                                                         urllib3.exceptions.NewConnectionError(None, "refused"))  # type: ignore[arg-type]
            manager._reconcile(key)
    said = lines(caplog)
    assert len(said) == 1, said
    assert said[0].startswith("ReconcileFailed: Grant team/g0: the API server did not answer (NewConnectionError)")
    answer[0] = None
    manager._reconcile(KEYS[0])
    manager._reconcile(KEYS[1])
    said = lines(caplog)
    assert len(said) == 2 and said[1].startswith("ReconcileRecovered:") and "50 object(s) failed" in said[1], said


def test_an_objects_own_failure_is_said_once_per_object_and_cause(
    manager_and_answer: tuple[Manager, list[Exception | None]], caplog: pytest.LogCaptureFixture
) -> None:
    manager, answer = manager_and_answer
    answer[0] = ValueError("bad input")
    for _ in range(3):
        manager._reconcile(KEYS[0])
        manager._reconcile(KEYS[1])
    answer[0] = ApiException(status=422, reason="Unprocessable Entity")
    manager._reconcile(KEYS[0])
    said = lines(caplog)
    assert [s.split(":")[1].strip() for s in said] == ["Grant team/g0", "Grant team/g1", "Grant team/g0"], said
    assert "422" in said[2]


def test_a_key_whose_deadline_came_runs_before_keys_queued_earlier_by_events_and_the_listing(
    manager_and_answer: tuple[Manager, list[Exception | None]]
) -> None:
    manager, _ = manager_and_answer
    listed, followed, expiring = KEYS[0], KEYS[1], KEYS[2]
    manager.enqueue(listed, bulk=True)
    manager.enqueue(followed)
    manager.enqueue_after(expiring, timedelta(seconds=-1))
    manager.enqueue_after(KEYS[3], timedelta(hours=1))
    assert manager.fire_due() == manager.deadline(KEYS[3])  # the next deadline, still ahead
    assert [manager.take() for _ in range(4)] == [expiring, followed, listed, None]
