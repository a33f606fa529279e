"""Shared steps of the rotation tests: read the vaulted password and the rotation status, make the
world's Account rotate, point it at the test PostgreSQL server, look for values where none may be."""

from __future__ import annotations

import base64
import secrets
from datetime import datetime
from typing import Any

from psycopg import sql

from strongroom.api.common import format_time
from strongroom.devcluster.sample import SECRET
from strongroom.rotation.protocol import PENDING_KEY
from tests.controllers.helpers import reaches, secret, when
from tests.postgres import SUPERUSER, PostgresServer
from tests.waiting import eventually
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


def rotated_from(world: World, old: str, timeout: float = 20) -> str:
    """Wait until a password other than `old` is committed; that password."""
    return eventually(lambda: settled_password(world) not in (None, old) and settled_password(world),
                      timeout=timeout, what="a new password committed")


def account(world: World) -> dict[str, Any]:
    return world.get("Account", world.account, namespace=world.vault)


def rotation_status(world: World) -> dict[str, Any]:
    return (account(world).get("status") or {}).get("rotation") or {}


def last_rotated(world: World) -> datetime | None:
    text = rotation_status(world).get("lastRotated")
    return when(text) if text else None


def set_rotation(world: World, rotation: dict[str, Any], **spec: Any) -> None:
    world.patch("admin", "Account", world.account, {"spec": {"rotation": rotation, **spec}}, namespace=world.vault)


def request_rotation(world: World, at: datetime) -> None:
    """What `strongroom rotate` does: set requestedAt."""
    set_rotation(world, {"requestedAt": format_time(at)})


def on_postgres(world: World, postgres: PostgresServer, rotation: dict[str, Any]) -> str:
    """Make the world's Account a role on the test server whose password is the vaulted one; return the role."""
    role = f"app_{secrets.token_hex(4)}"
    with postgres.connect() as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(role),
                                                                        sql.Literal(world.password)))
    world.core("admin").create_namespaced_secret(world.vault, {
        "metadata": {"name": MANAGEMENT_SECRET}, "stringData": {"password": postgres.password}})
    set_rotation(world, {"provider": "postgresql", **rotation}, type="postgresql", host="127.0.0.1",
                 port=postgres.port, username=role, management=management())
    return role


def management() -> dict[str, Any]:
    return {"username": SUPERUSER, "secretRef": {"name": MANAGEMENT_SECRET}}


def events_of(world: World, reason: str | None = None) -> list[str]:
    """The Events in the vault namespace, as 'Reason: message' (only `reason`'s, when given)."""
    listed = world.core("admin").list_namespaced_event(world.vault).items
    return [f"{e.reason}: {e.message}" for e in listed if reason is None or e.reason == reason]


def events_text(world: World) -> str:
    return "\n".join(events_of(world))


def release(world: World, user: str, name: str) -> None:
    """`user` releases request `name`; returns once it is Released."""
    world.patch(user, "AccessRequest", name, {"spec": {"release": True}})
    reaches(world, name, "Released")


def delivered(world: World, secret_name: str, user: str) -> tuple[str, dict[str, str]]:
    """The delivered Secret as its holder reads it: (its uid, its data decoded)."""
    found = secret(world, secret_name, user)
    assert found is not None, f"{user} cannot read the Secret {secret_name}"
    return found.metadata.uid, {key: base64.b64decode(value).decode() for key, value in (found.data or {}).items()}


def assert_nowhere(world: World, values: list[str], *logs: str) -> None:
    """None of `values` is in the logs given, the vault's Events or the Account object (status included)."""
    events, stored = events_text(world), str(account(world))
    for value in values:
        assert value, "an empty value proves nothing"
        for log in logs:
            assert value not in log, "a password is in the operator's log"
        assert value not in events, "a password is in an Event"
        assert value not in stored, "a password is in the Account"
