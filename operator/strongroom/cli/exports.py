"""`strongroom keygen|export|decrypt|restore`: disaster recovery, encrypted to an admin's key."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import click
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic.exceptions import ResourceNotFoundError
from pydantic import ValidationError

from strongroom.api.common import format_time
from strongroom.cli.errors import EXIT_FORBIDDEN, EXIT_USAGE, CliError, api_error
from strongroom.kube.client import api_client
from strongroom.policy.durations import parse_duration
from strongroom.recovery import envelope, keys
from strongroom.recovery.document import DOCUMENT_VERSION, ExportDocument
from strongroom.recovery.export import NotAllowed, collect, record_export, require_admin
from strongroom.recovery.restore import restore as restore_document
from strongroom.recovery.restore import select
from strongroom.recovery.tables import write_csv_dir

kubeconfig_option = click.option("--kubeconfig", type=click.Path(dir_okay=False, path_type=Path),
                                 help="Default: $KUBECONFIG or ~/.kube/config.")
context_option = click.option("--context", help="The kubeconfig context to use.")
FILE = click.Path(dir_okay=False, path_type=Path)
K = TypeVar("K")


def _key(loader: Callable[[Path], K], path: Path) -> K:
    try:
        return loader(path)
    except keys.KeyFileError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None


def _open(path: Path, key_path: Path) -> tuple[dict, ExportDocument]:
    key = _key(keys.load_private, key_path)
    try:
        opened = envelope.open_sealed(path.read_bytes(), key)
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror}") from None
    except envelope.EnvelopeError as exc:
        raise CliError(f"{path}: {exc}") from None
    try:
        doc = ExportDocument.model_validate_json(opened.plaintext)
    except ValidationError:
        raise CliError(f"{path}: the export's content is not a Strongroom export document") from None
    if doc.document_version != DOCUMENT_VERSION:
        raise CliError(f"{path}: document version {doc.document_version} is not one this Strongroom reads")
    return opened.header, doc


@click.command()
@click.option("--type", "kind", type=click.Choice(keys.KEY_TYPES), default="x25519", show_default=True)
@click.option("--out", "prefix", required=True, type=FILE,
              help="Writes PREFIX.key (private, mode 0600) and PREFIX.pub; never overwrites.")
def keygen(kind: str, prefix: Path) -> None:
    """Write a recipient key pair for exports."""
    private, public = prefix.with_name(prefix.name + ".key"), prefix.with_name(prefix.name + ".pub")
    try:
        key = keys.generate(kind)
        keys.write_pair(key, private, public)
    except keys.KeyFileError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    click.echo(f"private key: {private} (keep it offline)\npublic key:  {public}\n"
               f"fingerprint: {envelope.fingerprint(key.public_key())}")


@click.command()
@kubeconfig_option
@context_option
@click.option("--recipient", required=True, type=FILE, help="The PEM public key the export is encrypted to.")
@click.option("-o", "--output", "out", required=True, type=FILE, help="The export file to write (not overwritten).")
@click.option("--history", default="90d", show_default=True,
              help='How far back requests and Grants are included ("all" for everything).')
def export(kubeconfig: Path | None, context: str | None, recipient: Path, out: Path, history: str) -> None:
    """Export every Safe, Account (with its credential) and the request history, encrypted to RECIPIENT."""
    public = _key(keys.load_public, recipient)
    if out.exists():
        raise CliError(f"{out} already exists; refusing to overwrite it", EXIT_USAGE)
    now = datetime.now(UTC)
    try:
        since = None if history == "all" else now - parse_duration(history)
    except ValueError as exc:
        raise CliError(f"--history: {exc}", EXIT_USAGE) from None
    fingerprint = envelope.fingerprint(public)
    with api_client(kubeconfig, context) as api:
        try:
            exporter = require_admin(api)
            doc = collect(api, exporter, now, since)
        except NotAllowed as exc:
            raise CliError(str(exc), EXIT_FORBIDDEN) from None
        except ApiException as exc:
            raise api_error(exc, "export") from None
        sealed = envelope.seal(doc.model_dump_json(by_alias=True).encode(), public, {
            "created": format_time(now), "sourceCluster": doc.source_cluster, "exporter": exporter})
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as file:
            file.write(sealed)
        record_export(api, exporter, fingerprint)
    click.echo(f"exported {len(doc.safes)} safes, {len(doc.accounts)} accounts, {len(doc.secrets)} secrets, "
               f"{len(doc.access_requests)} requests and {len(doc.grants)} grants to {out} for key {fingerprint}")


@click.command()
@click.argument("file", type=FILE)
@click.option("--key", "key_path", required=True, type=FILE, help="The PEM private key the export was made for.")
@click.option("-o", "--output", type=click.Choice(["json", "csv"]), default="json", show_default=True)
@click.option("--out-dir", type=click.Path(file_okay=False, path_type=Path),
              help="For csv: the directory to write one CSV per kind into (required).")
def decrypt(file: Path, key_path: Path, output: str, out_dir: Path | None) -> None:
    """Open an export offline (no cluster) as JSON on stdout, or as one CSV per kind."""
    if output == "csv" and out_dir is None:
        raise CliError("-o csv needs --out-dir DIR (one CSV file per kind is written there)", EXIT_USAGE)
    header, doc = _open(file, key_path)
    if output == "json":
        body = {"header": {k: v for k, v in header.items() if k != "recipient"},
                "document": json.loads(doc.model_dump_json(by_alias=True))}
        sys.stdout.write(json.dumps(body, indent=2) + "\n")
        return
    assert out_dir is not None
    for path in write_csv_dir(doc, out_dir):
        click.echo(path)


@click.command()
@click.argument("file", type=FILE)
@click.option("--key", "key_path", required=True, type=FILE, help="The PEM private key the export was made for.")
@click.option("-n", "--namespace", "namespaces", multiple=True,
              help="Restore only what lives in this namespace (repeatable; default: everything).")
@kubeconfig_option
@context_option
def restore(file: Path, key_path: Path, namespaces: tuple[str, ...], kubeconfig: Path | None,
            context: str | None) -> None:
    """Recreate the Safes, Accounts and their Secrets of an export; its requests and Grants become
    read-only history (a ConfigMap per namespace), never live access. Running it twice changes nothing."""
    header, doc = _open(file, key_path)
    with api_client(kubeconfig, context) as api:
        try:
            done = restore_document(api, select(doc, set(namespaces)))
        except ResourceNotFoundError:
            raise CliError("the cluster does not serve Strongroom's kinds; apply crds/ first") from None
        except ApiException as exc:
            raise api_error(exc, "restore") from None
    click.echo(f"restored {done.safes} safes, {done.accounts} accounts, {done.secrets} secrets in "
               f"{done.namespaces} namespaces and {done.history_records} history records, exported by "
               f"{header.get('exporter')} at {header.get('created')} from {header.get('sourceCluster')}")
