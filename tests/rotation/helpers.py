"""Shared steps of the rotation tests: read the vaulted password, make the world's Account rotate,
point it at the test PostgreSQL server."""

from __future__ import annotations

import base64
import secrets
from typing import Any

from psycopg import sql

from strongroom.devcluster.sample import SECRET
from strongroom.rotation.protocol import PENDING_KEY
from tests.postgres import SUPERUSER, PostgresServer
from tests.world import World

MANAGEMENT_SECRET = "pg-management"


def vaulted(world: World) -> dict[str, str]:
    """The Account's Secret, decoded."""
    data = world.core("admin").read_namespaced_secret(SECRET, world.vault).data or {}
    return {key: base64.b64decode(value).decode() for key, value in data.items()}


def settled_password(world: World) -> str | None:
    """The stored password once no rotation is pending, else None."""
    found = vaulted(world)
    return None if PENDING_KEY in found else found["password"]


def account(world: World) -> dict[str, Any]:
    return world.get("Account", world.account, namespace=world.vault)


def rotation_status(world: World) -> dict[str, Any]:
    return (account(world).get("status") or {}).get("rotation") or {}


def set_rotation(world: World, rotation: dict[str, Any], **spec: Any) -> None:
    world.patch("admin", "Account", world.account, {"spec": {"rotation": rotation, **spec}}, namespace=world.vault)


def on_postgres(world: World, postgres: PostgresServer, rotation: dict[str, Any]) -> str:
    """Make the world's Account a role on the test server whose password is the vaulted one; return the role."""
    role = f"app_{secrets.token_hex(4)}"
    with postgres.connect() as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(role),
                                                                        sql.Literal(world.password)))
    world.core("admin").create_namespaced_secret(world.vault, {
        "metadata": {"name": MANAGEMENT_SECRET}, "stringData": {"password": postgres.password}})
    set_rotation(world, {"provider": "postgresql", **rotation}, type="postgresql", host="127.0.0.1",
                 port=postgres.port, username=role, management=management(postgres))
    return role


def management(postgres: PostgresServer) -> dict[str, Any]:
    return {"username": SUPERUSER, "secretRef": {"name": MANAGEMENT_SECRET}}


def events_text(world: World) -> str:
    listed = world.core("admin").list_namespaced_event(world.vault).items
    return "\n".join(f"{e.reason}: {e.message}" for e in listed)
