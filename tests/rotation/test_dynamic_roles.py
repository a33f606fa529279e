"""Per-grant PostgreSQL roles on a real server: a fresh login role for the grant's window, member of
the template role, gone (its sessions ended) afterwards."""

from __future__ import annotations

import base64
import secrets

import psycopg
from psycopg import sql

from tests.conftest import OperatorProcess
from tests.operator.test_lifecycle import active, phase, secret
from tests.postgres import PostgresServer
from tests.rotation.helpers import MANAGEMENT_SECRET, management
from tests.waiting import eventually
from tests.world import World


def role_exists(postgres: PostgresServer, role: str) -> bool:
    with postgres.connect() as conn:
        return conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone() is not None


def test_a_dynamic_role_logs_in_during_the_window_and_not_after_and_is_gone(
    operator: OperatorProcess, make_world, postgres: PostgresServer
) -> None:
    world: World = make_world(policy={"requiredApprovals": 0})
    template = f"readers_{secrets.token_hex(3)}"
    with postgres.connect() as conn:
        conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(template)))
    world.core("admin").create_namespaced_secret(world.vault, {
        "metadata": {"name": MANAGEMENT_SECRET}, "stringData": {"password": postgres.password}})
    world.patch("admin", "Account", world.account, {"spec": {
        "type": "postgresql", "mode": "dynamic", "templateRole": template, "host": "127.0.0.1",
        "port": postgres.port, "management": management(postgres)}}, namespace=world.vault)
    name, secret_name = active(world, "alice", duration="8s")
    delivered = secret(world, secret_name).data
    role = base64.b64decode(delivered["username"]).decode()
    password = base64.b64decode(delivered["password"]).decode()
    assert role.startswith("sr_") and password not in (world.password, postgres.password)
    session = postgres.connect(role, password)
    assert session.execute("SELECT pg_has_role(current_user, %s, 'MEMBER')", (template,)).fetchone() == (True,)
    eventually(lambda: phase(world, name) == "Expired", timeout=20, what="Expired")
    eventually(lambda: not role_exists(postgres, role), timeout=10, what="the role dropped")
    assert not postgres.can_login(role, password)
    try:
        session.execute("SELECT 1")
        raise AssertionError("the grant's session outlived it")
    except psycopg.OperationalError:
        pass
    assert password not in operator.output() and postgres.password not in operator.output()
