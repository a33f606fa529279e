"""What every rotation provider implements, and what it is given."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from strongroom.api.account import Account
from strongroom.rotation.protocol import Works


class TargetUnavailable(Exception):
    """The target cannot be reached or refused the change; the message names no value."""


@dataclass(frozen=True)
class Target:
    """What a provider needs: the Account and, where the provider logs in, the management password."""

    account: Account
    management_password: str | None = field(default=None, repr=False)


class Provider(Protocol):
    def set_password(self, target: Target, old: str, new: str) -> None:
        """Make `new` the account's password on the target; raise TargetUnavailable if that fails."""

    def which_works(self, target: Target, old: str, new: str) -> Works:
        """Which of the two passwords the target accepts now (after an interrupted rotation)."""
