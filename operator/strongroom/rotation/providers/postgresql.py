"""The postgresql provider: log in with the management credential and ALTER ROLE ... PASSWORD."""

from __future__ import annotations

import psycopg
from psycopg import sql

from strongroom.rotation.protocol import Works
from strongroom.rotation.providers.base import Target, TargetUnavailable

CONNECT_TIMEOUT = 5


def _connect(target: Target, user: str, password: str, dbname: str) -> psycopg.Connection:
    account = target.account
    return psycopg.connect(host=account.spec.host, port=account.spec.port or 5432, user=user, password=password,
                           dbname=dbname, connect_timeout=CONNECT_TIMEOUT, autocommit=True)


def _database(target: Target) -> str:
    management = target.account.spec.management
    return management.database if management else "postgres"


def _unavailable(target: Target, error: psycopg.Error) -> TargetUnavailable:
    # libpq's messages name host, port and user, never the password.
    text = str(error).strip()
    first = text.splitlines()[0] if text else type(error).__name__
    where = f"{target.account.spec.host}:{target.account.spec.port or 5432}"
    return TargetUnavailable(f"postgresql {where}: {first}"[:500])


def management_connection(target: Target) -> psycopg.Connection:
    """A connection as the Account's management login; TargetUnavailable when it is not configured."""
    management = target.account.spec.management
    if management is None or target.management_password is None:
        raise TargetUnavailable("postgresql needs spec.management and its Secret")
    try:
        return _connect(target, management.username, target.management_password, _database(target))
    except psycopg.Error as error:
        raise _unavailable(target, error) from None


class PostgresProvider:
    def set_password(self, target: Target, old: str, new: str) -> None:
        try:
            with management_connection(target) as conn:
                conn.execute(sql.SQL("ALTER ROLE {} WITH PASSWORD {}").format(
                    sql.Identifier(target.account.spec.username), sql.Literal(new)))
        except psycopg.Error as error:
            raise _unavailable(target, error) from None

    def which_works(self, target: Target, old: str, new: str) -> Works:
        for candidate, works in ((new, Works.NEW), (old, Works.OLD)):
            try:
                _connect(target, target.account.spec.username, candidate, _database(target)).close()
                return works
            except psycopg.OperationalError:
                continue  # refused, or the server is down: try the other one
        return Works.UNKNOWN
