"""Generated passwords follow the Account's policy."""

from __future__ import annotations

import string

import pytest

from strongroom.api.account import PasswordPolicy
from strongroom.rotation.passwords import SYMBOLS, generate


def test_the_default_policy_gives_32_characters_with_every_letter_class_and_a_digit() -> None:
    password = generate(PasswordPolicy())
    assert len(password) == 32
    assert any(c in string.ascii_lowercase for c in password)
    assert any(c in string.ascii_uppercase for c in password)
    assert any(c in string.digits for c in password)
    assert not any(c in SYMBOLS for c in password)


def test_every_enabled_class_appears_and_avoided_characters_never_do() -> None:
    policy = PasswordPolicy(length=12, symbols=True, avoid="0O1lI" + SYMBOLS[:-1])
    for _ in range(200):
        password = generate(policy)
        assert len(password) == 12
        assert not set(password) & set(policy.avoid)
        assert SYMBOLS[-1] in password  # the only symbol left must appear
        assert any(c.isdigit() for c in password)


def test_passwords_differ() -> None:
    assert len({generate(PasswordPolicy()) for _ in range(50)}) == 50


def test_a_policy_that_empties_a_class_is_refused_without_naming_a_value() -> None:
    with pytest.raises(ValueError, match="character class empty"):
        generate(PasswordPolicy(digits=True, avoid=string.digits))
    with pytest.raises(ValueError, match="character class"):
        generate(PasswordPolicy(lowercase=False, uppercase=False, digits=False))


def test_the_policy_bounds_the_length() -> None:
    with pytest.raises(ValueError):
        PasswordPolicy(length=8)
