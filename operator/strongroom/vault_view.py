"""Safes and Accounts as the operator's watch streams last saw them (kopf indexes, filled before any
handler runs), so a decision reads them from memory rather than from the API server. A name not seen
yet, an Account applied a moment ago, is read from the API server instead: the view may be a few
milliseconds old, never a reason to reject."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from typing import TypeVar

from kubernetes import client

from strongroom import store
from strongroom.models.account import Account
from strongroom.models.safe import Safe

T = TypeVar("T")
# kopf.Index is a Mapping of keys to stores (iterables of values); plain dicts of lists serve in tests.
Index = Mapping[Hashable, Iterable[T]]


def _values(index: Index[T] | None, key: Hashable) -> list[T] | None:
    """The values under `key`, or None when the index is missing or has not seen the key."""
    if index is None or key not in index:
        return None
    try:
        return list(index[key])
    except (KeyError, RuntimeError):  # removed, or changed by the event loop while copied: read instead
        return None


class VaultView:
    def __init__(self, api: client.ApiClient, safes: Index[Safe] | None = None,
                 accounts: Index[Account] | None = None, safe_accounts: Index[Account] | None = None) -> None:
        self.api = api
        self.safes, self.accounts, self.safe_accounts = safes, accounts, safe_accounts

    def safe(self, namespace: str, name: str) -> Safe | None:
        seen = _values(self.safes, (namespace, name))
        return seen[0] if seen else store.get(self.api, Safe, namespace, name)

    def account(self, namespace: str, name: str) -> Account | None:
        seen = _values(self.accounts, (namespace, name))
        return seen[0] if seen else store.get(self.api, Account, namespace, name)

    def account_and_safe(self, namespace: str, name: str) -> tuple[Account | None, Safe | None]:
        account = self.account(namespace, name)
        return (account, self.safe(namespace, account.spec.safe)) if account is not None else (None, None)

    def accounts_of_safe(self, namespace: str, safe: str) -> list[Account]:
        seen = _values(self.safe_accounts, (namespace, safe))
        if seen is not None:
            return seen
        return store.list_all(self.api, Account, namespace, fields=store.field_selector({"spec.safe": safe}))
