"""Rotation targets behind one small interface (providers/base.py): the next target (SSH, LDAP, MySQL)
is one new module and one line here."""

from __future__ import annotations

from strongroom.api.account import RotationProvider
from strongroom.rotation.providers.base import Provider, Target, TargetUnavailable
from strongroom.rotation.providers.local import LocalProvider
from strongroom.rotation.providers.postgresql import PostgresProvider

__all__ = ["Provider", "Target", "TargetUnavailable", "provider_for"]

_PROVIDERS: dict[RotationProvider, Provider] = {
    RotationProvider.LOCAL: LocalProvider(),
    RotationProvider.POSTGRESQL: PostgresProvider(),
}


def provider_for(kind: RotationProvider) -> Provider:
    return _PROVIDERS[kind]
