"""`strongroom keygen|export|decrypt|restore`: disaster recovery, encrypted to an admin's key and signed
by the exporter's."""

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

from strongroom.api.common import format_time
from strongroom.cli.errors import EXIT_FORBIDDEN, EXIT_USAGE, CliError, api_error
from strongroom.kube.client import api_client
from strongroom.policy.durations import parse_duration
from strongroom.recovery import envelope, keys
from strongroom.recovery.document import DocumentError, ExportDocument, parse_document
from strongroom.recovery.export import NotAllowed, collect, record_export, require_admin
from strongroom.recovery.restore import Refused, plan, preview
from strongroom.recovery.restore import restore as restore_plan
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


def _open(path: Path, key_path: Path, trust_path: Path | None) -> tuple[envelope.Opened, ExportDocument]:
    """The opened export and its document; everything checked (the signature first, with `trust_path`)."""
    key = _key(keys.load_private, key_path)
    trusted = _key(keys.load_trusted, trust_path) if trust_path else None
    try:
        opened = envelope.open_sealed(path.read_bytes(), key, trusted)
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror}") from None
    except envelope.EnvelopeError as exc:
        raise CliError(f"{path}: {exc}") from None
    try:
        return opened, parse_document(opened.plaintext)
    except DocumentError as exc:
        raise CliError(f"{path}: {exc}") from None


@click.command()
@click.option("--type", "kind", type=click.Choice(keys.KEY_TYPES), default="x25519", show_default=True,
              help="x25519 or rsa (4096-bit): a recipient, for export --recipient and --key; "
                   "ed25519: a signer, for export --sign and restore --trust.")
@click.option("--out", "prefix", required=True, type=FILE,
              help="Writes PREFIX.key (private, mode 0600) and PREFIX.pub; never overwrites.")
def keygen(kind: str, prefix: Path) -> None:
    """Write a key pair for exports: a recipient's or a signer's."""
    private, public = prefix.with_name(prefix.name + ".key"), prefix.with_name(prefix.name + ".pub")
    try:
        key = keys.generate(kind)
        keys.write_pair(key, private, public)
    except keys.KeyFileError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    click.echo(f"private key: {private} (keep it {'secret' if kind == keys.SIGNING else 'offline'})\n"
               f"public key:  {public}\nfingerprint: {envelope.fingerprint(key.public_key())}")


@click.command()
@kubeconfig_option
@context_option
@click.option("--recipient", required=True, type=FILE, help="The PEM public key the export is encrypted to.")
@click.option("--sign", "signer_path", required=True, type=FILE,
              help="The Ed25519 private key the export is signed with (keygen --type ed25519).")
@click.option("-o", "--output", "out", required=True, type=FILE, help="The export file to write (not overwritten).")
@click.option("--history", default="90d", show_default=True,
              help='How far back requests and Grants are included ("all" for everything).')
def export(*, kubeconfig: Path | None, context: str | None, recipient: Path, signer_path: Path, out: Path,
           history: str) -> None:
    """Export every Safe, Account (with its credential) and the request history, encrypted to RECIPIENT and
    signed with the --sign key."""
    public = _key(keys.load_public, recipient)
    signer = _key(keys.load_signer, signer_path)
    if out.exists():
        raise CliError(f"{out} already exists; refusing to overwrite it", EXIT_USAGE)
    now = datetime.now(UTC)
    try:
        since = None if history == "all" else now - parse_duration(history)
    except ValueError as exc:
        raise CliError(f"--history: {exc}", EXIT_USAGE) from None
    fingerprint, signed_by = envelope.fingerprint(public), envelope.fingerprint(signer.public_key())
    with api_client(kubeconfig, context) as api:
        try:
            exporter = require_admin(api)
            doc = collect(api, exporter, now, since)
        except NotAllowed as exc:
            raise CliError(str(exc), EXIT_FORBIDDEN) from None
        except ApiException as exc:
            raise api_error(exc, "export") from None
        try:
            plan(doc)  # a file restore would refuse is no backup: say so now, not when it is needed
        except Refused as exc:
            raise CliError(f"cannot export: {exc}") from None
        sealed = envelope.seal(doc.model_dump_json(by_alias=True).encode(), public, signer, {
            "created": format_time(now), "sourceCluster": doc.source_cluster, "exporter": exporter})
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as file:
            file.write(sealed)
        record_export(api, exporter, fingerprint, signed_by)
    click.echo(f"exported {len(doc.safes)} safes, {len(doc.accounts)} accounts, {len(doc.secrets)} secrets, "
               f"{len(doc.access_requests)} requests and {len(doc.grants)} grants to {out} for key {fingerprint}, "
               f"signed by key {signed_by}")


@click.command()
@click.argument("file", type=FILE)
@click.option("--key", "key_path", required=True, type=FILE, help="The PEM private key the export was made for.")
@click.option("--trust", "trust_path", type=FILE, help="The signer's Ed25519 public key; the signature must verify.")
@click.option("--unverified", is_flag=True,
              help="Open without checking who signed it (when the signer's key is lost); says so on stderr.")
@click.option("-o", "--output", type=click.Choice(["json", "csv"]), default="json", show_default=True)
@click.option("--out-dir", type=click.Path(file_okay=False, path_type=Path),
              help="For csv: the directory to write one CSV per kind into (required).")
def decrypt(*, file: Path, key_path: Path, trust_path: Path | None, unverified: bool, output: str,
            out_dir: Path | None) -> None:
    """Open an export offline (no cluster) as JSON on stdout, or as one CSV per kind."""
    if trust_path is None and not unverified:
        raise CliError("decrypt needs --trust SIGNER.pub to check who made the file (or --unverified when the "
                       "signer's key is lost)", EXIT_USAGE)
    if trust_path is not None and unverified:
        raise CliError("--trust and --unverified exclude each other", EXIT_USAGE)
    if output == "csv" and out_dir is None:
        raise CliError("-o csv needs --out-dir DIR (one CSV file per kind is written there)", EXIT_USAGE)
    opened, doc = _open(file, key_path, trust_path)
    if not opened.verified:
        click.echo(f"warning: the signature was not verified; the file names signer {opened.signer}", err=True)
    if output == "json":
        header = {k: v for k, v in opened.header.items() if k != "recipient"}
        body = {"header": {**header, "signer": {**header["signer"], "verified": opened.verified}},
                "document": json.loads(doc.model_dump_json(by_alias=True))}
        sys.stdout.write(json.dumps(body, indent=2) + "\n")
        return
    assert out_dir is not None
    for path in write_csv_dir(doc, out_dir):
        click.echo(path)


@click.command()
@click.argument("file", type=FILE)
@click.option("--key", "key_path", required=True, type=FILE, help="The PEM private key the export was made for.")
@click.option("--trust", "trust_path", required=True, type=FILE,
              help="The signer's Ed25519 public key; a file it did not sign is refused.")
@click.option("-n", "--namespace", "namespaces", multiple=True,
              help="Restore only what lives in this namespace (repeatable; default: everything).")
@click.option("--dry-run", is_flag=True, help="List what would be created or updated; apply nothing.")
@kubeconfig_option
@context_option
def restore(*, file: Path, key_path: Path, trust_path: Path, namespaces: tuple[str, ...], dry_run: bool,
            kubeconfig: Path | None, context: str | None) -> None:
    """Recreate the Safes, Accounts and their Secrets of a signed export; its requests and Grants become
    read-only history (a ConfigMap per namespace), never live access. Anything else in the file refuses
    the whole file before anything is applied. Running it twice changes nothing."""
    opened, doc = _open(file, key_path, trust_path)
    try:
        planned = plan(doc, set(namespaces))
    except Refused as exc:
        raise CliError(f"{file}: {exc}") from None
    with api_client(kubeconfig, context) as api:
        try:
            if dry_run:
                changes = preview(api, planned)
            else:
                created = restore_plan(api, planned)
        except ResourceNotFoundError:
            raise CliError("the cluster does not serve Strongroom's kinds; apply crds/ first") from None
        except ApiException as exc:
            raise api_error(exc, "restore") from None
    if dry_run:
        for change in changes:
            click.echo(f"{change.action:<9} {change.kind:<9} {'/'.join(filter(None, (change.namespace, change.name)))}")
        click.echo("dry run: nothing was applied", err=True)
        return
    header = opened.header
    click.echo(f"restored {len(planned.safes)} safes, {len(planned.accounts)} accounts, {len(planned.secrets)} "
               f"secrets in {len(planned.namespaces)} namespaces ({created} created) and {planned.history_records} "
               f"history records, exported by {header.get('exporter')} at {header.get('created')} from "
               f"{header.get('sourceCluster')}, signed by key {opened.signer}")
