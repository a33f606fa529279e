"""Files generated from the single sources (the CRDs from the models, the chart's parts from those and
rbac.py): finding drift, writing, and the `[--check]` command both generators offer."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path


def drifted(folder: Path, rendered: Mapping[str, str], owned: str) -> list[str]:
    """Files (relative to `folder`) that differ from `rendered`, are missing, or match the `owned` glob
    without being rendered any more (left over from a removed kind)."""
    stale = {path.relative_to(folder).as_posix() for path in folder.glob(owned)} - set(rendered)
    differ = {name for name, text in rendered.items()
              if not (folder / name).is_file() or (folder / name).read_text() != text}
    return sorted(stale | differ)


def write(folder: Path, rendered: Mapping[str, str], owned: str) -> list[str]:
    """Bring `folder` up to date; returns the files written or removed."""
    changed = drifted(folder, rendered, owned)
    for name in changed:
        path = folder / name
        if name in rendered:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(rendered[name])
        else:
            path.unlink()
    return changed


def command(*, module: str, doc: str, flag: str, default: Path, owned: str, what: str,
            render: Callable[[], Mapping[str, str]]) -> Callable[[Sequence[str] | None], int]:
    """`python -m MODULE [FLAG DIR] [--check]`: write the generated files, or exit 1 when they drift."""

    def main(argv: Sequence[str] | None = None) -> int:
        parser = argparse.ArgumentParser(prog=f"python -m {module}", description=doc.splitlines()[0])
        parser.add_argument(flag, dest="folder", type=Path, default=default,
                            help="target folder (default: %(default)s)")
        parser.add_argument("--check", action="store_true", help="exit 1 if the files differ from their sources")
        args = parser.parse_args(argv)
        rendered = render()
        if args.check:
            changed = drifted(args.folder, rendered, owned)
            if changed:
                print(f"{what} out of date in {args.folder}: {', '.join(changed)}; run `python -m {module}`",
                      file=sys.stderr)
                return 1
            return 0
        changed = write(args.folder, rendered, owned)
        print(f"{len(changed)} {what} updated in {args.folder}" if changed else f"{what} in {args.folder} up to date")
        return 0

    return main
