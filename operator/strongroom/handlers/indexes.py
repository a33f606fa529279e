"""The kopf indexes behind `VaultView`: every Safe and Account by (namespace, name), and Accounts by
their Safe. kopf fills them from the initial listing before any handler runs."""

from __future__ import annotations

from typing import Any, TypeVar

import kopf
from pydantic import ValidationError

from strongroom.models.account import Account
from strongroom.models.api import GROUP, VERSION
from strongroom.models.common import Resource
from strongroom.models.safe import Safe

R = TypeVar("R", bound=Resource)


def _parsed(kind: type[R], body: kopf.Body) -> R | None:
    # An object the models refuse stays out of the index: whoever needs it reads it and says why.
    try:
        return kind.from_object(body)
    except ValidationError:
        return None


@kopf.index(GROUP, VERSION, "safes")
def safe_index(namespace: str, name: str, body: kopf.Body, **_: Any) -> dict[tuple[str, str], Safe]:
    safe = _parsed(Safe, body)
    return {(namespace, name): safe} if safe else {}


@kopf.index(GROUP, VERSION, "accounts")
def account_index(namespace: str, name: str, body: kopf.Body, **_: Any) -> dict[tuple[str, str], Account]:
    account = _parsed(Account, body)
    return {(namespace, name): account} if account else {}


@kopf.index(GROUP, VERSION, "accounts")
def safe_account_index(namespace: str, body: kopf.Body, **_: Any) -> dict[tuple[str, str], Account]:
    account = _parsed(Account, body)
    return {(namespace, account.spec.safe): account} if account else {}
