"""Text that people wrote (reasons, comments, names, messages), made safe to put on a terminal.

A reason is read on an approver's screen: a control character in it could clear that screen, move
the cursor over what was printed, hide a link behind other text (OSC 8) or reverse the reading order
(bidi overrides). Each such character is shown as a visible escape instead, so what people read is
what was written.
"""

from __future__ import annotations

import unicodedata

# C0/C1 controls and DEL (Cc), invisible format characters such as bidi overrides and zero-width
# spaces (Cf), lone surrogates (Cs, which cannot even be encoded) and the line/paragraph separators.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
# Zero-width (non-)joiners are format characters that ordinary text needs: emoji sequences, Persian, Indic scripts.
_JOINERS = frozenset({"\u200c", "\u200d"})
_SHORT = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def printable(text: str) -> str:
    """`text` with every control or invisible format character replaced by its escape (ESC as `\\x1b`,
    U+202E as `\\u202e`); letters, accents, CJK, emoji and spaces are kept as they are."""
    if text.isprintable():  # the common case; isprintable() is also False for harmless spaces like NBSP
        return text
    return "".join(_escape(char) for char in text)


def _escape(char: str) -> str:
    if char in _JOINERS or unicodedata.category(char) not in _UNSAFE_CATEGORIES:
        return char
    if char in _SHORT:
        return _SHORT[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"
