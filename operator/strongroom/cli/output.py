"""What the command line prints: a table for people, JSON or YAML for scripts."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import click
import yaml
from rich.console import Console
from rich.table import Table


def dump(data: Any, output: str) -> str:
    if output == "json":
        return json.dumps(data, indent=2, sort_keys=False, default=str)
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False).rstrip()


def emit(data: Any, output: str, columns: Mapping[str, str] | None = None, rows: Sequence[Mapping[str, Any]] = (),
         empty: str = "nothing to show") -> None:
    """`data` as JSON/YAML, or `rows` as a table with `columns` (header: row key) for people."""
    if output in ("json", "yaml"):
        click.echo(dump(data, output))
        return
    if not rows:
        click.echo(empty, err=True)
        return
    table = Table(box=None, pad_edge=False, header_style="bold")
    for header in (columns or {}):
        table.add_column(header, overflow="fold")
    for row in rows:
        table.add_row(*(_cell(row.get(key)) for key in (columns or {}).values()))
    Console(soft_wrap=True, width=_width()).print(table)


def _cell(value: Any) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, list | tuple):
        return ",".join(str(item) for item in value) or "-"
    return str(value)


def _width() -> int | None:
    # Pipes get full lines rather than rich's 80-column default, so `| grep` sees whole rows.
    return None if click.get_text_stream("stdout").isatty() else 200
