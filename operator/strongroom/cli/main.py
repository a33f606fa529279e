"""`strongroom` and `kubectl strongroom`: one program, one command group per concern."""

from __future__ import annotations

import importlib.util
import sys

import click
import urllib3

from strongroom.cli.access import COMMANDS as ACCESS_COMMANDS
from strongroom.cli.errors import EXIT_ERROR, CliError
from strongroom.cli.exports import decrypt, export, keygen, restore
from strongroom.cli.operator_cmd import operator_command, version
from strongroom.cli.report import report
from strongroom.cli.rotate import rotate
from strongroom.cli.text import printable


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="strongroom")
def cli() -> None:
    """Strongroom: privileged credential access for Kubernetes."""


cli.add_command(operator_command)
cli.add_command(version)
cli.add_command(keygen)
cli.add_command(export)
cli.add_command(decrypt)
cli.add_command(restore)
cli.add_command(report)
for command in ACCESS_COMMANDS:
    cli.add_command(command)
cli.add_command(rotate)


def _development_commands() -> list[click.Command]:
    """`cluster` and `demo`, where this installation has the local control plane (the image has not)."""
    if importlib.util.find_spec("strongroom.devcluster") is None:
        return []
    from strongroom.cli.cluster import cluster  # noqa: PLC0415  (only where devcluster is installed)
    from strongroom.cli.demo import demo  # noqa: PLC0415

    return [cluster, demo]


for command in _development_commands():
    cli.add_command(command)


def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.UsageError as exc:  # one line, and where to read more, instead of click's usage block
        command = exc.ctx.command_path if exc.ctx else "strongroom"
        click.echo(f"error: {exc.format_message()} (see {command} --help)", err=True)
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        click.echo(f"error: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    except CliError as exc:  # may quote the API server, which may quote what a user wrote
        click.echo(f"error: {printable(str(exc))}", err=True)
        sys.exit(exc.exit_code)
    except urllib3.exceptions.HTTPError as exc:
        reason = getattr(exc, "reason", None) or exc
        click.echo(f"error: cannot reach the API server ({printable(str(reason))}); check the kubeconfig's server",
                   err=True)
        sys.exit(EXIT_ERROR)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
