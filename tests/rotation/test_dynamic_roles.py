"""Per-grant PostgreSQL roles on a real server, time moved by the test: a fresh login role for the
grant's window, member of the template role, valid until the grant's end, written to its Secret before
it exists on the server, and gone (its sessions ended) when the grant ends."""

from __future__ import annotations

import secrets
from datetime import timedelta

import psycopg
import pytest
from psycopg import sql

from tests.controllers.helpers import active, reaches, secret, status, when
from tests.operators import InProcessOperator
from tests.postgres import PostgresServer
from tests.rotation.helpers import MANAGEMENT_SECRET, delivered, management
from tests.waiting import eventually
from tests.world import World


def role_exists(postgres: PostgresServer, role: str) -> bool:
    with postgres.connect() as conn:
        return conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone() is not None


def valid_until(postgres: PostgresServer, role: str):
    with postgres.connect() as conn:
        return conn.execute("SELECT rolvaliduntil FROM pg_roles WHERE rolname = %s", (role,)).fetchone()[0]


@pytest.fixture
def dynamic(make_world, postgres: PostgresServer) -> tuple[World, str]:
    """A world whose Account hands out a role per grant on the test server: (world, template role)."""
    world: World = make_world(policy={"requiredApprovals": 0})
    template = f"readers_{secrets.token_hex(3)}"
    with postgres.connect() as conn:
        conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(template)))
    world.core("admin").create_namespaced_secret(world.vault, {
        "metadata": {"name": MANAGEMENT_SECRET}, "stringData": {"password": postgres.password}})
    world.patch("admin", "Account", world.account, {"spec": {
        "type": "postgresql", "mode": "dynamic", "templateRole": template, "host": "127.0.0.1",
        "port": postgres.port, "management": management()}}, namespace=world.vault)
    return world, template


def test_a_dynamic_role_logs_in_during_the_window_and_not_after_and_is_gone(
    operator: InProcessOperator, dynamic: tuple[World, str], postgres: PostgresServer
) -> None:
    world, template = dynamic
    name, secret_name = active(world, "alice", duration="10m")
    uid, handed = delivered(world, secret_name, "alice")
    role, password = handed["username"], handed["password"]
    assert role.startswith("sr_") and password not in (world.password, postgres.password)
    grant = world.get("Grant", status(world, name)["grant"])
    assert grant["status"]["secretUid"] == uid, "the role's password is in the very Secret the Grant recorded"
    assert valid_until(postgres, role) == when(grant["spec"]["notAfter"])
    session = postgres.connect(role, password)
    assert session.execute("SELECT pg_has_role(current_user, %s, 'MEMBER')", (template,)).fetchone() == (True,)
    operator.advance(timedelta(minutes=9))
    operator.settle()
    assert role_exists(postgres, role) and postgres.can_login(role, password)
    operator.advance(timedelta(minutes=1))
    reaches(world, name, "Expired")
    eventually(lambda: not role_exists(postgres, role), timeout=10, what="the role dropped")
    assert not postgres.can_login(role, password)
    with pytest.raises(psycopg.OperationalError):
        session.execute("SELECT 1")  # the grant's session did not outlive it
    assert secret(world, secret_name, "admin") is None
    log = operator.output()
    assert password not in log and postgres.password not in log


def test_a_released_grant_drops_its_role_at_once_and_each_grant_has_its_own(
    operator: InProcessOperator, dynamic: tuple[World, str], postgres: PostgresServer
) -> None:
    world, _ = dynamic
    first, first_secret = active(world, "alice", duration="1h")
    _, second_secret = active(world, "erin", duration="1h")
    alices, erins = delivered(world, first_secret, "alice")[1], delivered(world, second_secret, "erin")[1]
    assert alices["username"] != erins["username"] and alices["password"] != erins["password"]
    world.patch("alice", "AccessRequest", first, {"spec": {"release": True}})
    reaches(world, first, "Released")
    eventually(lambda: not role_exists(postgres, alices["username"]), timeout=10, what="alice's role dropped")
    operator.settle()
    assert postgres.can_login(erins["username"], erins["password"]), "erin's role went with alice's"
