"""The delivered Secret: what it holds, how it is labelled and owned, and what it never reveals."""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

import pytest

from strongroom.api.account import Account
from strongroom.api.common import DNS1123_SUBDOMAIN_PATTERN
from strongroom.api.grant import Grant
from strongroom.policy.delivery import (
    MaterialMissing,
    access_name,
    delivered_secret,
    label_value,
    read_binding,
    read_role,
    secret_name_for,
)
from strongroom.rotation.protocol import PENDING_KEY
from tests.policy.builders import account, grant

PASSWORD = b"hunter2-\xff\x00binary"
GRANT = grant("req-1", "alice", "2025-03-03T10:00:00Z", "2025-03-03T11:00:00Z", account="db")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def deliver(acct: Account | None = None, material: dict[str, bytes] | None = None, **kwargs: Any) -> dict[str, Any]:
    return delivered_secret(
        kwargs.pop("grant", GRANT),
        acct or account(),
        {"password": PASSWORD} if material is None else material,
        kwargs.pop("safe_name", "prod-db"),
        kwargs.pop("grant_uid", "uid-1"),
    )


def decoded(secret: dict[str, Any]) -> dict[str, bytes]:
    return {key: base64.b64decode(value) for key, value in secret["data"].items()}


def test_a_username_and_password_are_delivered_as_basic_auth_with_host_and_port() -> None:
    secret = deliver()
    assert (secret["apiVersion"], secret["kind"], secret["type"]) == ("v1", "Secret", "kubernetes.io/basic-auth")
    assert (secret["metadata"]["name"], secret["metadata"]["namespace"]) == ("req-1", "team")
    assert decoded(secret) == {"username": b"app", "password": PASSWORD, "host": b"db.internal", "port": b"5432"}
    assert "stringData" not in secret


def test_the_password_is_read_from_the_accounts_password_key() -> None:
    acct = account(secretRef={"name": "db-cred", "passwordKey": "pw"})
    data = decoded(deliver(acct, {"pw": b"s3cret", "ca.crt": b"CERT"}))
    assert data["password"] == b"s3cret"
    assert data["ca.crt"] == b"CERT"
    assert "pw" not in data


def test_a_pending_rotation_password_is_never_delivered() -> None:
    data = decoded(deliver(material={"password": PASSWORD, PENDING_KEY: b"next-one"}))
    assert PENDING_KEY not in data and b"next-one" not in data.values()


def test_other_material_and_fields_are_delivered_but_never_replace_username_or_password() -> None:
    acct = account(fields={"url": "postgres://db.internal/app", "username": "root"})
    material = {"password": PASSWORD, "username": b"root", "tls.key": b"\x00\x01key"}
    data = decoded(deliver(acct, material))
    assert data["username"] == b"app" and data["password"] == PASSWORD
    assert data["url"] == b"postgres://db.internal/app"
    assert data["tls.key"] == b"\x00\x01key"


def test_the_accounts_declared_fields_win_over_material_of_the_same_name() -> None:
    data = decoded(deliver(account(fields={"host": "replica.internal"}), {"password": PASSWORD, "port": b"1"}))
    assert data["host"] == b"db.internal"  # host from the spec, then fields
    assert data["port"] == b"5432"


def test_an_ssh_key_without_a_password_is_delivered_as_opaque() -> None:
    secret = deliver(account(type="ssh", host=None, port=None), {"ssh-privatekey": b"KEY"})
    assert secret["type"] == "Opaque"
    assert decoded(secret) == {"username": b"app", "ssh-privatekey": b"KEY"}


def test_a_missing_password_names_the_secret_and_key_but_no_value() -> None:
    material = {"passwd": b"do-not-leak", "token": b"also-secret"}
    with pytest.raises(MaterialMissing) as raised:
        deliver(account(), material)
    message = str(raised.value)
    assert "vault/db-cred" in message and "'password'" in message
    for value in material.values():
        assert value.decode() not in message
    assert isinstance(raised.value, ValueError)


def test_a_field_that_cannot_be_a_secret_key_is_refused() -> None:
    with pytest.raises(ValueError, match="'my url'"):
        deliver(account(fields={"my url": "x"}))


def test_labels_and_annotations_name_the_grant_account_safe_expiry_and_subject() -> None:
    metadata = deliver()["metadata"]
    assert metadata["labels"] == {
        "app.kubernetes.io/managed-by": "strongroom",
        "strongroom.dev/grant": "req-1",
        "strongroom.dev/grant-uid": "uid-1",
        "strongroom.dev/account": "db",
        "strongroom.dev/account-namespace": "vault",
        "strongroom.dev/safe": "prod-db",
    }
    assert metadata["annotations"] == {
        "strongroom.dev/expires-at": "2025-03-03T11:00:00Z",
        "strongroom.dev/subject": "alice",
    }


def test_the_secret_is_owned_by_its_grant_without_blocking_the_grants_deletion() -> None:
    assert deliver(grant_uid="0b1c")["metadata"]["ownerReferences"] == [
        {
            "apiVersion": "strongroom.dev/v1alpha1",
            "kind": "Grant",
            "name": "req-1",
            "uid": "0b1c",
            "controller": True,
            "blockOwnerDeletion": False,
        }
    ]


def test_long_names_become_valid_distinct_label_values() -> None:
    long_grant: Grant = grant("g" * 200, "alice", "2025-03-03T10:00:00Z", "2025-03-03T11:00:00Z", account="db")
    labels = deliver(grant=long_grant, safe_name="s" * 70 + ".x")["metadata"]["labels"]
    for value in labels.values():
        assert len(value) <= 63 and LABEL_VALUE.fullmatch(value), value
    assert label_value("a" * 64) != label_value("a" * 65)
    assert label_value("prod-db") == "prod-db"
    assert LABEL_VALUE.fullmatch(label_value("a" * 53 + "." + "b" * 20))


def test_the_default_secret_name_follows_the_request() -> None:
    assert secret_name_for("req-1") == "req-1-credential"


def test_a_default_secret_name_for_a_very_long_request_is_shortened_validly_and_distinctly() -> None:
    first, second = "a" * 241 + "-" + "b" * 11, "a" * 241 + "-" + "c" * 11
    for request in (first, second, "x" * 253, "y" * 232 + "." + "z" * 30):
        name = secret_name_for(request)
        assert len(name) <= 253 and re.fullmatch(DNS1123_SUBDOMAIN_PATTERN, name), name
        assert name.endswith("-credential")
    assert secret_name_for(first) != secret_name_for(second)


def test_a_missing_password_error_carries_the_secret_and_key_and_names_the_account() -> None:
    with pytest.raises(MaterialMissing) as raised:
        deliver(account(), {"passwd": b"x"})
    assert (raised.value.secret, raised.value.key) == ("vault/db-cred", "password")
    assert str(raised.value) == (
        "Secret vault/db-cred has no key 'password', which holds the password of account vault/db"
    )


def stored(secret: dict[str, Any], uid: str = "5f0e") -> dict[str, Any]:
    """The Secret as the API server returns it: with its uid."""
    return {**secret, "metadata": {**secret["metadata"], "uid": uid}}


def owned_by_the_secret(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": "team",
        "labels": {"app.kubernetes.io/managed-by": "strongroom", "strongroom.dev/grant-uid": "uid-1"},
        "ownerReferences": [
            {"apiVersion": "v1", "kind": "Secret", "name": "req-1", "uid": "5f0e", "controller": True,
             "blockOwnerDeletion": False}
        ],
    }


def test_the_read_role_allows_only_get_on_exactly_the_delivered_secret_and_is_owned_by_it() -> None:
    assert read_role(stored(deliver())) == {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": owned_by_the_secret("strongroom-read-5f0e"),
        "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"], "resourceNames": ["req-1"]}],
    }


def test_the_read_binding_binds_that_role_to_the_subject_alone_and_is_owned_by_the_secret() -> None:
    assert read_binding(stored(deliver()), "alice") == {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": owned_by_the_secret("strongroom-read-5f0e"),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "strongroom-read-5f0e"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "alice"}],
    }


def test_the_access_name_follows_the_secrets_uid() -> None:
    assert access_name("0b1c-77") == "strongroom-read-0b1c-77"


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def test_a_valid_label_value_of_63_characters_is_kept_and_a_longer_one_is_cut_to_54_and_a_hash() -> None:
    assert label_value("a" * 63) == "a" * 63
    assert label_value("g" * 200) == "g" * 54 + "-" + digest("g" * 200)
    assert len(label_value("g" * 200)) == 63


def test_characters_a_label_value_cannot_hold_become_dashes_and_the_ends_are_trimmed() -> None:
    assert label_value("Xylophone Player@Corp") == f"Xylophone-Player-Corp-{digest('Xylophone Player@Corp')}"
    assert label_value("_hidden name.") == f"hidden-name-{digest('_hidden name.')}"


def test_text_with_nothing_a_label_value_can_keep_becomes_its_hash_alone() -> None:
    assert label_value("@@@") == digest("@@@")
    assert label_value("---") == digest("---")


def test_a_default_secret_name_of_exactly_253_characters_is_kept_and_a_longer_one_is_cut_to_233_and_a_hash() -> None:
    exact = "r" * 242
    assert secret_name_for(exact) == exact + "-credential"
    longer = "r" * 243
    assert secret_name_for(longer) == "r" * 233 + "-" + digest(longer) + "-credential"
    assert len(secret_name_for(longer)) == 253
