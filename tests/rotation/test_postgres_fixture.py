"""The PostgreSQL fixture itself: a real server, password auth, and stop/start for 'target down'."""

from __future__ import annotations

from tests.postgres import PostgresServer


def test_the_server_checks_passwords_and_can_be_stopped_and_started(postgres: PostgresServer) -> None:
    assert postgres.can_login("postgres", postgres.password)
    assert not postgres.can_login("postgres", "wrong")
    postgres.stop()
    assert not postgres.can_login("postgres", postgres.password)
    postgres.start()
    assert postgres.can_login("postgres", postgres.password)
