"""What a Grant delivers, as plain manifests: the Secret, and the Role and RoleBinding through which
the grant's subject, and nobody else Strongroom gives a role to, may read it. Writing and deleting
them is the shell's.

The Secret is owned by the Grant and labelled with the Grant's uid; the Role and RoleBinding are owned
by the Secret, so deleting the Secret (at the end of the window, on release or revoke) takes them
along, and deleting the Grant takes all three. Everything goes into `data` (base64), never
`stringData`: the API server folds stringData into data on write.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping
from typing import Any

from strongroom.api.account import Account, AccountType
from strongroom.api.common import format_time
from strongroom.api.grant import Grant
from strongroom.api.group import API_VERSION

MANAGED_BY = "app.kubernetes.io/managed-by"
GRANT_LABEL = "strongroom.dev/grant"
GRANT_UID_LABEL = "strongroom.dev/grant-uid"
ACCOUNT_LABEL = "strongroom.dev/account"
ACCOUNT_NAMESPACE_LABEL = "strongroom.dev/account-namespace"
SAFE_LABEL = "strongroom.dev/safe"
EXPIRES_AT = "strongroom.dev/expires-at"
SUBJECT = "strongroom.dev/subject"

BASIC_AUTH = "kubernetes.io/basic-auth"
OPAQUE = "Opaque"
USERNAME, PASSWORD = "username", "password"  # the keys kubernetes.io/basic-auth defines

# Accounts whose credential is a password: delivering one without it would hand over nothing usable.
# ssh and kubernetes-serviceaccount material may be a key or a token alone (then the Secret is Opaque).
PASSWORD_TYPES = frozenset({AccountType.GENERIC, AccountType.POSTGRESQL})

# Where a rotation keeps the password it is about to set (rotation.protocol): never delivered.
PENDING_KEY = "strongroom.dev-pending-password"
SECRET_SUFFIX = "-credential"
MAX_NAME = 253  # a DNS-1123 subdomain
MAX_LABEL_VALUE = 63
HASH_LENGTH = 8
_SECRET_KEY = re.compile(r"^[-._a-zA-Z0-9]{1,253}$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


class MaterialMissing(ValueError):
    """The Account's Secret lacks the key holding the password. Names the Secret and the key, never a value."""

    def __init__(self, secret: str, key: str, account: str) -> None:
        super().__init__(f"Secret {secret} has no key {key!r}, which holds the password of account {account}")
        self.secret = secret
        self.key = key


def delivered_secret(
    grant: Grant, account: Account, material: Mapping[str, bytes], safe_name: str, grant_uid: str
) -> dict[str, Any]:
    """The Secret for `grant`: the credential of `account` (`material` is its Secret's data).

    Keys: `username` and `password` (from the Account and its passwordKey), then `host`, `port` and
    the Account's `fields`, then the rest of the material. The Account's declaration wins a clash:
    a material key never replaces a key the Account names.

    Raises MaterialMissing when a password account's material has no password, and ValueError for
    a field that cannot be a Secret key.
    """
    password_key = account.spec.secret_ref.password_key
    password = material.get(password_key)
    if password is None and account.spec.type in PASSWORD_TYPES:
        secret = f"{account.namespace}/{account.spec.secret_ref.name}"
        raise MaterialMissing(secret, password_key, f"{account.namespace}/{account.name}")
    declared: dict[str, bytes] = {USERNAME: account.spec.username.encode()}
    if password is not None:
        declared[PASSWORD] = password
    if account.spec.host is not None:
        declared["host"] = account.spec.host.encode()
    if account.spec.port is not None:
        declared["port"] = str(account.spec.port).encode()
    for name, value in account.spec.fields.items():
        if not _SECRET_KEY.fullmatch(name):
            raise ValueError(f"field {name!r} of account {account.namespace}/{account.name} is not a valid Secret key")
        declared.setdefault(name, value.encode())
    rest = {name: value for name, value in material.items()
            if name not in (password_key, PENDING_KEY) and name not in declared}
    data = {name: base64.b64encode(value).decode() for name, value in {**declared, **rest}.items()}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": grant.spec.secret_name,
            "namespace": grant.namespace,
            "labels": {
                MANAGED_BY: "strongroom",
                GRANT_LABEL: label_value(grant.name),
                GRANT_UID_LABEL: grant_uid,
                ACCOUNT_LABEL: label_value(account.name),
                ACCOUNT_NAMESPACE_LABEL: label_value(account.namespace),
                SAFE_LABEL: label_value(safe_name),
            },
            "annotations": {EXPIRES_AT: format_time(grant.spec.not_after), SUBJECT: grant.spec.subject.user},
            "ownerReferences": [
                {
                    "apiVersion": API_VERSION,
                    "kind": "Grant",
                    "name": grant.name,
                    "uid": grant_uid,
                    "controller": True,
                    "blockOwnerDeletion": False,
                }
            ],
        },
        "type": BASIC_AUTH if PASSWORD in declared else OPAQUE,
        "data": data,
    }


ACCESS_PREFIX = "strongroom-read-"


def access_name(secret_uid: str) -> str:
    """The name of the Role and RoleBinding that let the subject read one delivered Secret: derived from
    the Secret's uid, so it can neither clash with what exists nor be guessed before the Secret is."""
    return ACCESS_PREFIX + secret_uid


def _owned_by_secret(name: str, secret: Mapping[str, Any]) -> dict[str, Any]:
    meta = secret["metadata"]
    return {
        "name": name, "namespace": meta["namespace"],
        "labels": {MANAGED_BY: "strongroom", GRANT_UID_LABEL: meta["labels"][GRANT_UID_LABEL]},
        "ownerReferences": [{"apiVersion": "v1", "kind": "Secret", "name": meta["name"], "uid": meta["uid"],
                             "controller": True, "blockOwnerDeletion": False}],
    }


def read_role(secret: Mapping[str, Any]) -> dict[str, Any]:
    """A Role allowing `get` on exactly the delivered Secret (`secret` as stored: it has its uid)."""
    meta = secret["metadata"]
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": _owned_by_secret(access_name(meta["uid"]), secret),
        "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"], "resourceNames": [meta["name"]]}],
    }


def read_binding(secret: Mapping[str, Any], user: str) -> dict[str, Any]:
    """Binds `read_role(secret)` to the grant's subject, a user, and to nobody else."""
    name = access_name(secret["metadata"]["uid"])
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": _owned_by_secret(name, secret),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}],
    }


def secret_name_for(request_name: str) -> str:
    """The delivered Secret's name when the request names none: `<request>-credential`, the request
    name shortened (and a hash of it added, to stay unique) when that would pass 253 characters."""
    name = request_name + SECRET_SUFFIX
    if len(name) <= MAX_NAME:
        return name
    keep = MAX_NAME - len(SECRET_SUFFIX) - HASH_LENGTH - 1
    # A cut may end on "-" or ".", which a DNS-1123 name may not end a segment with.
    return f"{request_name[:keep].rstrip('-.')}-{_digest(request_name)}{SECRET_SUFFIX}"


def label_value(text: str) -> str:
    """`text` as a label value: itself when valid, else cut to fit with a hash of the whole to keep
    distinct long names distinct. Object names only ever need the cut (their characters are valid)."""
    if len(text) <= MAX_LABEL_VALUE and _LABEL_VALUE.fullmatch(text):
        return text
    keep = MAX_LABEL_VALUE - HASH_LENGTH - 1
    prefix = re.sub(r"[^-A-Za-z0-9_.]", "-", text[:keep]).strip("-_.")
    return f"{prefix}-{_digest(text)}" if prefix else _digest(text)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:HASH_LENGTH]
