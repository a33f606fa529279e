"""The local provider: the target is updated elsewhere, so only the vault changes."""

from __future__ import annotations

from strongroom.rotation.protocol import Works
from strongroom.rotation.providers.base import Target


class LocalProvider:
    def set_password(self, target: Target, old: str, new: str) -> None:
        return None  # nothing to change outside the vault

    def which_works(self, target: Target, old: str, new: str) -> Works:
        return Works.NEW  # recorded as pending means chosen: finish the commit
