"""Per-grant database roles (Account mode `dynamic`): for each Grant a fresh PostgreSQL login role,
member of the template role, VALID UNTIL the grant's notAfter, delivered in the grant's Secret and
dropped (its sessions terminated first) when the grant ends.

Crash safety without reading the delivered Secret (the operator may only create and delete it there):
the Secret is written first and the role created after, so a role that exists proves its Secret holds
its password. A role that does not exist means start over: delete the Secret, write a new one, create.
"""

from __future__ import annotations

import hashlib

import psycopg
from psycopg import sql

from strongroom.api.account import Account, AccountMode
from strongroom.api.common import format_time
from strongroom.api.grant import Grant
from strongroom.rotation.providers.base import Target, TargetUnavailable
from strongroom.rotation.providers.postgresql import management_connection

ROLE_PREFIX = "sr_"


def is_dynamic(account: Account) -> bool:
    return account.spec.mode is AccountMode.DYNAMIC


def role_name(grant: Grant) -> str:
    """A short, stable role name for the grant: `sr_` and 16 hex digits of its uid."""
    return ROLE_PREFIX + hashlib.sha256(grant.uid.encode()).hexdigest()[:16]


def role_exists(target: Target, role: str) -> bool:
    try:
        with management_connection(target) as conn:
            return conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone() is not None
    except psycopg.Error as error:
        raise TargetUnavailable(f"postgresql: {type(error).__name__}") from None


def create_role(target: Target, grant: Grant, role: str, password: str) -> None:
    template = target.account.spec.template_role or ""
    try:
        with management_connection(target) as conn:
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} VALID UNTIL {} IN ROLE {}").format(
                sql.Identifier(role), sql.Literal(password), sql.Literal(format_time(grant.spec.not_after)),
                sql.Identifier(template)))
    except psycopg.Error as error:
        raise TargetUnavailable(f"postgresql: could not create role {role}: {type(error).__name__}") from None


def drop_role(target: Target, role: str) -> None:
    """Terminate the role's sessions, then drop it; a role already gone is fine."""
    try:
        with management_connection(target) as conn:
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (role,))
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
    except psycopg.Error as error:
        raise TargetUnavailable(f"postgresql: could not drop role {role}: {type(error).__name__}") from None
