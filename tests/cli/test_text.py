"""What people wrote, on a terminal: shown, never acted on (pure; no cluster)."""

from __future__ import annotations

import json
import re
import unicodedata

import pytest
import yaml

from strongroom.cli.output import dump, emit, say
from strongroom.cli.text import printable
from strongroom.cli.views import HISTORY_COLUMNS, REQUEST_COLUMNS, history_rows, request_row

# A reason that would clear the approver's screen, hide a link, overwrite the line and reverse what follows.
MALICIOUS = ("ok\x1b[2J\x1b[H\x1b]8;;https://evil.example\x07click\x1b]8;;\x1b\\ \r\b\b"
             "\u202eevil\u202c \u2066x\u2069 \x9b31m \x00\x7f [bold red]fake[/] :warning:")


@pytest.mark.parametrize(("text", "shown"), [
    ("\x1b[2J", "\\x1b[2J"),  # CSI: clear the screen
    ("\x1b]8;;https://e.example\x07link\x1b]8;;\x1b\\", "\\x1b]8;;https://e.example\\x07link\\x1b]8;;\\x1b\\"),  # OSC 8
    ("approved\rdenied", "approved\\rdenied"),
    ("abc\b\bX", "abc\\x08\\x08X"),
    ("line\nforged line", "line\\nforged line"),
    ("a\tb", "a\\tb"),
    ("\x00\x07\x0b\x0c\x1f", "\\x00\\x07\\x0b\\x0c\\x1f"),  # other C0
    ("\x7f", "\\x7f"),  # DEL
    ("\x85\x9b\x9d", "\\x85\\x9b\\x9d"),  # C1: NEL, CSI, OSC
    ("\u202aa\u202bb\u202cc\u202dd\u202ee", "\\u202aa\\u202bb\\u202cc\\u202dd\\u202ee"),  # bidi embeddings/overrides
    ("\u2066a\u2067b\u2068c\u2069", "\\u2066a\\u2067b\\u2068c\\u2069"),  # bidi isolates
    ("\u200e\u200f\u061c", "\\u200e\\u200f\\u061c"),  # bidi marks
    ("b\u200bob\ufeff\u2060", "b\\u200bob\\ufeff\\u2060"),  # invisible: zero-width space, BOM, word joiner
    ("a\u2028b\u2029c", "a\\u2028b\\u2029c"),  # line and paragraph separators
    ("\U000e0041", "\\U000e0041"),  # tag characters (invisible ASCII)
    ("bad\udcff", "bad\\udcff"),  # a lone surrogate (undecodable bytes), which could not even be printed
])
def test_each_control_or_invisible_character_is_shown_as_its_escape(text: str, shown: str) -> None:
    assert printable(text) == shown


@pytest.mark.parametrize("text", [
    "Café crème, naïve Zoë, Ångström",
    "修复数据库 — 障害対応 — 장애 대응",
    "Привет, Γειά σου, مرحبا, שלום",  # noqa: RUF001 (right-to-left letters are text, not overrides)
    "e\u0301 (combining accent)",
    "deploy 🚀 👩\u200d💻 👨\u200d👩\u200d👧 🇳🇱 ❤\ufe0f",  # emoji, joiner sequences, flags, variation selector
    "می\u200cخواهم",  # noqa: RUF001 (Persian needs the zero-width non-joiner)
    "no\u00a0break, ideographic\u3000space",
    "plain ASCII: [brackets] \\x1b (typed as text) ~!@#$%^&*()",
])
def test_ordinary_unicode_is_kept_as_it_is(text: str) -> None:
    assert printable(text) == text


def test_what_printable_gives_has_nothing_left_to_act_on() -> None:
    shown = printable(MALICIOUS)
    assert not any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp") for c in shown)
    assert printable(shown) == shown


def _request(reason: str) -> dict:
    return {"metadata": {"namespace": "team", "name": "r1"},
            "spec": {"account": {"namespace": "vault", "name": "db"}, "requester": "alice", "reason": reason},
            "status": {"phase": "Pending", "approvalsRequired": 1,
                       "reviews": [{"user": "mallory\x1b[8m", "decision": "Deny", "comment": reason,
                                    "time": "2026-03-01T09:01:00Z"}],
                       "history": [{"time": "2026-03-01T09:00:00Z", "actor": "strongroom", "event": "Submitted",
                                    "message": f"alice asked for vault/db (30m): {reason}"}]}}


def _raw_controls(out: str) -> list[str]:
    """Every control or invisible character in `out` other than the newlines between lines."""
    return [c for c in out if c != "\n" and unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp")]


def test_a_table_with_a_malicious_reason_prints_no_escape_sequence(capsys: pytest.CaptureFixture[str],
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        monkeypatch.delenv(var, raising=False)
    request = _request(MALICIOUS)
    emit([request], "table", REQUEST_COLUMNS, [request_row(request)])
    rows = history_rows(request)
    emit(rows, "table", HISTORY_COLUMNS, rows)
    out = capsys.readouterr().out
    assert _raw_controls(out) == []
    assert "\\x1b[2J" in out and "\\u202e" in out and "mallory\\x1b[8m" in out
    assert "[bold red]fake[/]" in out and ":warning:" in out  # shown as written, not read as rich markup or emoji


def test_on_a_colour_terminal_the_only_escapes_are_the_tables_own_styles(capsys: pytest.CaptureFixture[str],
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")
    request = _request(MALICIOUS)
    emit([request], "table", REQUEST_COLUMNS, [request_row(request)])
    out = capsys.readouterr().out
    assert "\x1b[" in out  # rich styled the header: this is what an approver's terminal receives
    assert _raw_controls(re.sub(r"\x1b\[[0-9;]*m", "", out)) == []


def test_plain_lines_and_the_empty_message_are_made_printable(capsys: pytest.CaptureFixture[str]) -> None:
    say(f"  Ready=True Reviewed: {MALICIOUS}")
    say("note \x1b[2J", err=True)
    emit([], "table", {"A": "a"}, [], empty="no history for r1\x1b[2J")
    captured = capsys.readouterr()
    assert _raw_controls(captured.out) == [] and _raw_controls(captured.err) == []
    assert captured.err == "note \\x1b[2J\nno history for r1\\x1b[2J\n"


@pytest.mark.parametrize("output", ["json", "yaml"])
def test_json_and_yaml_stay_exact_data_with_every_control_escaped(output: str) -> None:
    data = {"reason": MALICIOUS, "name": "Zoë 修复 🚀", "lines": "one\ntwo\rthree"}
    text = dump(data, output)
    assert text.isascii() and _raw_controls(text) == []
    assert (json.loads(text) if output == "json" else yaml.safe_load(text)) == data
