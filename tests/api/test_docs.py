"""docs/api.md says what the code does: its phase tables and rejection reasons are generated from the
same tables the status writer and the CRDs use, and a test fails when the page drifts."""

from __future__ import annotations

from pathlib import Path

import pytest

from strongroom.api.phases import ACCESS_REQUEST_TRANSITIONS
from strongroom.codegen import docs


def test_the_generated_blocks_of_the_api_page_are_up_to_date() -> None:
    assert docs.main(["--check"]) == 0, "run: python -m strongroom.codegen.docs"


def test_a_changed_phase_table_shows_as_drift(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    page = (docs.DEFAULT_DOCS / docs.PAGE).read_text()
    changed = {**ACCESS_REQUEST_TRANSITIONS}
    changed[next(iter(changed))] = frozenset()
    monkeypatch.setattr(docs, "ACCESS_REQUEST_TRANSITIONS", changed)
    assert docs.render(page) != page


def test_a_page_without_a_block_is_an_error() -> None:
    with pytest.raises(ValueError, match="grant-moves"):
        docs.render("<!-- generated: access-request-moves -->\nx\n<!-- end: access-request-moves -->\n")
