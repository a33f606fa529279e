"""Looking at requests, Grants and Secrets the way the tests need, as the real users."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from tests.waiting import eventually
from tests.world import World


def status(world: World, name: str, kind: str = "AccessRequest") -> dict[str, Any]:
    return world.get(kind, name).get("status") or {}


def phase(world: World, name: str, kind: str = "AccessRequest") -> str:
    return str(status(world, name, kind).get("phase", ""))


def secret(world: World, name: str, user: str = "alice") -> client.V1Secret | None:
    try:
        return world.core(user).read_namespaced_secret(name, world.team)
    except ApiException as exc:
        if exc.status in (403, 404):
            return None
        raise


def reaches(world: World, name: str, wanted: str, kind: str = "AccessRequest", timeout: float = 20) -> dict:
    """Wait until the object is in phase `wanted`; its status."""
    eventually(lambda: phase(world, name, kind) == wanted, timeout=timeout, what=f"{kind} {name} {wanted}")
    return status(world, name, kind)


def active(world: World, user: str = "alice", duration: str = "30m", **spec: Any) -> tuple[str, str]:
    """File a request as `user` and wait until it is Active: (request name, delivered Secret name)."""
    name = world.request(user, duration=duration, **spec)["metadata"]["name"]
    return name, reaches(world, name, "Active")["secretName"]


def events(world: World, name: str) -> list[str]:
    return [h["event"] for h in status(world, name).get("history", [])]


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
