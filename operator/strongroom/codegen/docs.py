"""Generate the parts of docs/api.md that the API's code defines: the phase moves of both kinds (the
same tables the status writer and the CRDs' CEL rules use) and the rejection reasons.

    python -m strongroom.codegen.docs            # rewrites the generated blocks of docs/api.md
    python -m strongroom.codegen.docs --check    # exits 1 when they differ

A generated block sits between `<!-- generated: NAME -->` and `<!-- end: NAME -->`; the rest of the
page is written by hand.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from pathlib import Path

from strongroom.api.accessrequest import RejectionReason
from strongroom.api.phases import ACCESS_REQUEST_TRANSITIONS, GRANT_TRANSITIONS, Phase
from strongroom.codegen import generated

DEFAULT_DOCS = Path(__file__).resolve().parents[3] / "docs"
PAGE = "api.md"


def moves_table(table: Mapping[Phase, frozenset[Phase]]) -> str:
    rows = ["| from | may move to |", "| --- | --- |"]
    for phase, targets in table.items():
        rows.append(f"| `{phase}` | {', '.join(f'`{t}`' for t in sorted(targets)) or 'nothing (terminal)'} |")
    return "\n".join(rows)


def reasons() -> str:
    return ", ".join(f"`{reason}`" for reason in RejectionReason)


def blocks() -> dict[str, str]:
    return {
        "access-request-moves": moves_table(ACCESS_REQUEST_TRANSITIONS),
        "grant-moves": moves_table(GRANT_TRANSITIONS),
        "rejection-reasons": reasons(),
    }


def render(page: str) -> str:
    """`page` with every generated block rewritten; a block the page lacks is an error."""
    for name, body in blocks().items():
        pattern = re.compile(rf"(<!-- generated: {name} -->\n).*?(\n<!-- end: {name} -->)", re.S)
        if not pattern.search(page):
            raise ValueError(f"{PAGE} has no block `<!-- generated: {name} -->`")
        page = pattern.sub(lambda m, b=body: f"{m[1]}{b}{m[2]}", page)
    return page


def render_all(folder: Path = DEFAULT_DOCS) -> dict[str, str]:
    return {PAGE: render((folder / PAGE).read_text())}


main = generated.command(module="strongroom.codegen.docs", doc=__doc__ or "", flag="--docs", default=DEFAULT_DOCS,
                         owned=PAGE, what="generated doc blocks", render=render_all)


if __name__ == "__main__":
    sys.exit(main())
