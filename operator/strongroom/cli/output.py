"""What the command line prints: a table for people, JSON or YAML for scripts."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import click
import yaml
from rich.console import Console
from rich.table import Table
from rich.text import Text

from strongroom.cli.text import printable


def dump(data: Any, output: str) -> str:
    if output == "json":
        return json.dumps(data, indent=2, sort_keys=False, default=str)  # ASCII: control characters as \u escapes
    # Without allow_unicode, YAML double-quotes and escapes every control and non-ASCII character: the
    # data stays exact (it loads back the same) and no byte of it can act on a terminal.
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, allow_unicode=False).rstrip()


def say(line: str, *, err: bool = False) -> None:
    """One line for people (not for scripts), with what people wrote in it made visible rather than acted on."""
    click.echo(printable(line), err=err)


def emit(data: Any, output: str, columns: Mapping[str, str] | None = None, rows: Sequence[Mapping[str, Any]] = (),
         empty: str = "nothing to show") -> None:
    """`data` as JSON/YAML, or `rows` as a table with `columns` (header: row key) for people."""
    if output in ("json", "yaml"):
        click.echo(dump(data, output))
        return
    if not rows:
        say(empty, err=True)
        return
    table = Table(box=None, pad_edge=False, header_style="bold")
    for header in (columns or {}):
        table.add_column(header, overflow="fold")
    for row in rows:
        table.add_row(*(_cell(row.get(key)) for key in (columns or {}).values()))
    Console(soft_wrap=True, width=_width()).print(table)


def _cell(value: Any) -> Text:
    """A cell as plain Text: people's words neither act on the terminal nor read as rich markup ("[bold]")."""
    if value is None or value == "":
        return Text("-")
    if isinstance(value, list | tuple):
        return Text(printable(",".join(str(item) for item in value)) or "-")
    return Text(printable(str(value)))


def _width() -> int | None:
    # Pipes get full lines rather than rich's 80-column default, so `| grep` sees whole rows.
    return None if click.get_text_stream("stdout").isatty() else 200
