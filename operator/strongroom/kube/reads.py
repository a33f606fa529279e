"""Fresh reads from the API server, where a decision must not rest on the watch stream's copy: the
Safe a request is approved under, the grants an exclusive check-out counts, the vaulted Secret."""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from typing import TypeVar

from kubernetes.client.exceptions import ApiException

from strongroom.api.account import Account
from strongroom.api.common import Resource
from strongroom.api.grant import Grant
from strongroom.api.group import GROUP, VERSION
from strongroom.api.phases import GrantPhase, is_terminal
from strongroom.kube.rest import Kube, core_path, custom_path

R = TypeVar("R", bound=Resource)


class CredentialUnreadable(Exception):
    """The Account's Secret is missing or the operator may not read it; the message says which.
    `transient`: the API server refused (403), which it also does for a moment while it starts: worth
    trying again before anything is decided on it."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


def get(kube: Kube, kind: type[R], namespace: str, name: str) -> R | None:
    found = kube.get(custom_path(kind.crd.plural, namespace, name))
    return kind.from_object(found) if found is not None else None


def field_selector(equal: Mapping[str, str], unequal: Mapping[str, Iterable[str]] | None = None) -> str:
    """A field selector: every `equal` field has its value, no `unequal` field has any of its values.
    Values are escaped as the API server expects (user names may hold `,` or `=`)."""
    def escaped(value: str) -> str:
        return value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")

    terms = [f"{field}={escaped(value)}" for field, value in equal.items()]
    terms += [f"{field}!={escaped(value)}" for field, values in (unequal or {}).items() for value in values]
    return ",".join(terms)


_ENDED = {"status.phase": [phase.value for phase in GrantPhase if is_terminal(phase)]}


def _grants(kube: Kube, fields: str) -> list[Grant]:
    return [Grant.from_object(item) for item in kube.list(f"/apis/{GROUP}/{VERSION}/grants", fields=fields)]


def live_grants_of_account(kube: Kube, namespace: str, name: str) -> list[Grant]:
    """The Grants of one Account (in any namespace) that have not ended."""
    return _grants(kube, field_selector({"spec.account.namespace": namespace, "spec.account.name": name}, _ENDED))


def live_grants_of_user(kube: Kube, user: str) -> list[Grant]:
    """The Grants of one user that have not ended, for any Account."""
    return _grants(kube, field_selector({"spec.subject.user": user}, _ENDED))


def material(kube: Kube, account: Account, secret_name: str | None = None) -> dict[str, bytes]:
    """The vaulted credential (or the Secret `secret_name` next to it), read with the operator's vault
    access in the Account's namespace."""
    name = secret_name or account.spec.secret_ref.name
    try:
        secret = kube.get(core_path("secrets", account.namespace, name))
    except ApiException as exc:
        if exc.status == 403:
            raise CredentialUnreadable(
                f"the operator may not read secrets in namespace {account.namespace}; bind the ClusterRole "
                "strongroom-vault-access there", transient=True) from None
        raise
    if secret is None:
        raise CredentialUnreadable(f"secret {name} of account {account.name} does not exist")
    return {key: base64.b64decode(value) for key, value in (secret.get("data") or {}).items()}
