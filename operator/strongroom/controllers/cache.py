"""What the watch streams said last about every Strongroom object and namespace, with the indexes the
controllers and the webhooks ask by. Fed by the watch handlers and by the operator's own writes (a
write's answer is newer than anything the stream has delivered yet), so a controller never acts on
an object older than one it wrote itself.

Everything here is in memory and rebuilt from the watch streams at start: nothing is lost with it.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable
from typing import TypeVar

from strongroom.api.accessrequest import AccessRequest
from strongroom.api.account import Account
from strongroom.api.common import Resource
from strongroom.api.grant import Grant
from strongroom.api.phases import is_terminal
from strongroom.api.safe import Safe

R = TypeVar("R", bound=Resource)
Name = tuple[str, str]  # (namespace, name)


def version(obj: Resource) -> int:
    """The object's resourceVersion as a number (etcd's revision); -1 when it is not one."""
    value = str(obj.metadata.get("resourceVersion", ""))
    return int(value) if value.isdigit() else -1


def name_of(obj: Resource) -> Name:
    return obj.namespace, obj.name


class Cache:
    """Thread-safe: watch handlers write from the event loop, controllers read from worker threads."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._objects: dict[type[Resource], dict[Name, Resource]] = {k: {} for k in (Safe, Account, AccessRequest,
                                                                                       Grant)}
        self._namespace_labels: dict[str, dict[str, str]] = {}
        self._accounts_by_safe: dict[Name, set[str]] = defaultdict(set)
        self._grants_by_account: dict[Name, set[Name]] = defaultdict(set)
        self._grants_by_user: dict[str, set[Name]] = defaultdict(set)
        self._grant_by_source: dict[str, Name] = {}
        self._requests_by_account: dict[Name, set[Name]] = defaultdict(set)
        self._by_namespace: dict[str, set[tuple[type[Resource], str]]] = defaultdict(set)

    # -- writing ---------------------------------------------------------------------------------

    def put(self, obj: Resource) -> bool:
        """Keep `obj` unless what is kept is newer; True when it replaced something (or was new)."""
        kind = type(obj)
        with self._lock:
            old = self._objects[kind].get(name_of(obj))
            if old is not None and 0 <= version(obj) <= version(old):
                return False
            if old is not None:
                self._unindex(old)
            self._objects[kind][name_of(obj)] = obj
            self._index(obj)
            return True

    def remove(self, kind: type[R], namespace: str, name: str) -> R | None:
        with self._lock:
            old = self._objects[kind].pop((namespace, name), None)
            if old is not None:
                self._unindex(old)
            return old  # type: ignore[return-value]

    def put_namespace(self, name: str, labels: dict[str, str] | None) -> bool:
        """Record a namespace's labels (None: it is gone); True when they changed."""
        with self._lock:
            if labels is None:
                return self._namespace_labels.pop(name, None) is not None
            changed = self._namespace_labels.get(name) != labels
            self._namespace_labels[name] = dict(labels)
            return changed

    def _index(self, obj: Resource) -> None:
        self._by_namespace[obj.namespace].add((type(obj), obj.name))
        if isinstance(obj, Account):
            self._accounts_by_safe[(obj.namespace, obj.spec.safe)].add(obj.name)
        elif isinstance(obj, Grant):
            self._grants_by_account[obj.spec.account.key].add(name_of(obj))
            self._grants_by_user[obj.spec.subject.user].add(name_of(obj))
            if obj.spec.source.uid:
                self._grant_by_source[obj.spec.source.uid] = name_of(obj)
        elif isinstance(obj, AccessRequest):
            self._requests_by_account[obj.spec.account.key].add(name_of(obj))

    def _unindex(self, obj: Resource) -> None:
        self._by_namespace[obj.namespace].discard((type(obj), obj.name))
        if isinstance(obj, Account):
            self._accounts_by_safe[(obj.namespace, obj.spec.safe)].discard(obj.name)
        elif isinstance(obj, Grant):
            self._grants_by_account[obj.spec.account.key].discard(name_of(obj))
            self._grants_by_user[obj.spec.subject.user].discard(name_of(obj))
            if obj.spec.source.uid and self._grant_by_source.get(obj.spec.source.uid) == name_of(obj):
                del self._grant_by_source[obj.spec.source.uid]
        elif isinstance(obj, AccessRequest):
            self._requests_by_account[obj.spec.account.key].discard(name_of(obj))

    # -- reading ---------------------------------------------------------------------------------

    def has_version(self, kind: type[Resource], namespace: str, name: str, resource_version: str) -> bool:
        """Whether what is kept of this object is this version or newer (so parsing it again is moot)."""
        with self._lock:
            kept = self._objects[kind].get((namespace, name))
        return kept is not None and resource_version.isdigit() and int(resource_version) <= version(kept)

    def get(self, kind: type[R], namespace: str, name: str) -> R | None:
        with self._lock:
            return self._objects[kind].get((namespace, name))  # type: ignore[return-value]

    def all(self, kind: type[R]) -> list[R]:
        with self._lock:
            return list(self._objects[kind].values())  # type: ignore[arg-type]

    def count(self, kind: type[Resource]) -> int:
        with self._lock:
            return len(self._objects[kind])

    def namespace_labels(self, name: str) -> dict[str, str] | None:
        """The labels of a namespace; None when it does not exist (as far as the stream has said)."""
        with self._lock:
            found = self._namespace_labels.get(name)
            return dict(found) if found is not None else None

    def safe_of(self, account: Account) -> Safe | None:
        return self.get(Safe, account.namespace, account.spec.safe)

    def account_and_safe(self, namespace: str, name: str) -> tuple[Account | None, Safe | None]:
        account = self.get(Account, namespace, name)
        return account, (self.safe_of(account) if account is not None else None)

    def accounts_of_safe(self, safe: Safe) -> list[Account]:
        with self._lock:
            names = list(self._accounts_by_safe.get((safe.namespace, safe.name), ()))
        return [a for n in names if (a := self.get(Account, safe.namespace, n)) is not None]

    def grants_of_account(self, namespace: str, name: str, *, live: bool = False) -> list[Grant]:
        with self._lock:
            keys = list(self._grants_by_account.get((namespace, name), ()))
        return self._grants(keys, live)

    def grants_of_user(self, user: str, *, live: bool = False) -> list[Grant]:
        with self._lock:
            keys = list(self._grants_by_user.get(user, ()))
        return self._grants(keys, live)

    def grant_for(self, request: AccessRequest) -> Grant | None:
        """The Grant issued for this very request (its uid), if any."""
        with self._lock:
            key = self._grant_by_source.get(request.uid)
        return self.get(Grant, *key) if key else None

    def requests_of_account(self, namespace: str, name: str) -> list[AccessRequest]:
        with self._lock:
            keys = list(self._requests_by_account.get((namespace, name), ()))
        return [r for k in keys if (r := self.get(AccessRequest, *k)) is not None]

    def in_namespace(self, namespace: str) -> list[Resource]:
        with self._lock:
            members = list(self._by_namespace.get(namespace, ()))
        return [o for kind, n in members if (o := self.get(kind, namespace, n)) is not None]

    def _grants(self, keys: Iterable[Name], live: bool) -> list[Grant]:
        found = [g for k in keys if (g := self.get(Grant, *k)) is not None]
        return [g for g in found if not is_terminal(g.status.phase)] if live else found
