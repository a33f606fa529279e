"""New passwords from the operating system's CSPRNG, shaped by an Account's PasswordPolicy."""

from __future__ import annotations

import secrets
import string

from strongroom.api.account import PasswordPolicy

# Punctuation that survives shells, URLs and connection strings without quoting.
SYMBOLS = "-_.,:;!?@#%^*+=~"


def character_classes(policy: PasswordPolicy) -> list[str]:
    """Each enabled class, minus the characters to avoid; a class left empty is an error."""
    wanted = [
        (policy.lowercase, string.ascii_lowercase),
        (policy.uppercase, string.ascii_uppercase),
        (policy.digits, string.digits),
        (policy.symbols, SYMBOLS),
    ]
    classes = ["".join(c for c in chars if c not in policy.avoid) for enabled, chars in wanted if enabled]
    if not classes or any(not chars for chars in classes):
        raise ValueError("the password policy leaves a character class empty (check `avoid` and the classes)")
    if len(classes) > policy.length:
        raise ValueError("the password policy asks for more character classes than characters")
    return classes


def generate(policy: PasswordPolicy) -> str:
    """A password of `policy.length` with at least one character of every enabled class."""
    classes = character_classes(policy)
    alphabet = "".join(classes)
    chars = [secrets.choice(chars) for chars in classes]
    chars += [secrets.choice(alphabet) for _ in range(policy.length - len(chars))]
    secrets.SystemRandom().shuffle(chars)
    return "".join(chars)
