"""An opened export as flat tables, one per kind, for a spreadsheet (pure). Credentials are decoded:
this is what an admin gets back when the cluster is gone."""

from __future__ import annotations

import base64
import csv
import io
from pathlib import Path
from typing import Any

from strongroom.api.accessrequest import AccessRequest
from strongroom.recovery.audit import COLUMNS, report_rows
from strongroom.recovery.document import ExportDocument


def _decoded(value: str) -> str:
    raw = base64.b64decode(value)
    try:
        return raw.decode()
    except UnicodeDecodeError:
        return "base64:" + value


def _names(entries: list[dict[str, Any]]) -> str:
    return "; ".join(", ".join([*e.get("users", []), *(f"group:{g}" for g in e.get("groups", []))])
                     for e in entries)


def tables(doc: ExportDocument) -> dict[str, tuple[tuple[str, ...], list[dict[str, str]]]]:
    """kind -> (columns, rows); every value a string."""
    material = {(s.namespace, s.name): {k: _decoded(v) for k, v in s.data.items()} for s in doc.secrets}
    safe_of = {(a["metadata"]["namespace"], a["metadata"]["name"]): a["spec"]["safe"] for a in doc.accounts}
    safes = [{
        "namespace": s["metadata"]["namespace"], "name": s["metadata"]["name"],
        "description": s["spec"].get("description", ""), "blocked": str(s["spec"].get("blocked", False)).lower(),
        "members": _names(s["spec"].get("members", [])), "approvers": _names([s["spec"].get("approvers", {})]),
        "requiredApprovals": str(s["spec"].get("policy", {}).get("requiredApprovals", "")),
    } for s in doc.safes]
    accounts = []
    for a in doc.accounts:
        spec, ns = a["spec"], a["metadata"]["namespace"]
        ref = spec["secretRef"]
        found = material.get((ns, ref["name"]), {})
        accounts.append({
            "namespace": ns, "name": a["metadata"]["name"], "safe": spec["safe"], "type": spec.get("type", "generic"),
            "username": spec["username"], "host": spec.get("host", ""), "port": str(spec.get("port", "")),
            "secret": ref["name"], "password": found.get(ref.get("passwordKey", "password"), ""),
        })
    secrets = [{"namespace": s.namespace, "secret": s.name, "key": k, "value": v}
               for s in doc.secrets for k, v in sorted(material[(s.namespace, s.name)].items())]
    requests = report_rows(((AccessRequest.from_object(r), "export") for r in doc.access_requests), safe_of)
    grants = [{
        "namespace": g["metadata"]["namespace"], "name": g["metadata"]["name"],
        "account": f"{g['spec']['account']['namespace']}/{g['spec']['account']['name']}",
        "subject": g["spec"]["subject"]["user"], "notBefore": g["spec"]["notBefore"], "notAfter": g["spec"]["notAfter"],
        "source": g["spec"]["source"].get("accessRequest") or "direct", "phase": g.get("status", {}).get("phase", ""),
        "endedAt": g.get("status", {}).get("endedAt", ""),
    } for g in doc.grants]

    def cols(rows: list[dict[str, str]], default: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(rows[0]) if rows else default

    return {
        "safes": (cols(safes, ("namespace", "name")), safes),
        "accounts": (cols(accounts, ("namespace", "name", "password")), accounts),
        "secrets": (("namespace", "secret", "key", "value"), secrets),
        "accessrequests": (COLUMNS, requests),
        "grants": (cols(grants, ("namespace", "name")), grants),
    }


def to_csv(columns: tuple[str, ...], rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def write_csv_dir(doc: ExportDocument, directory: Path) -> list[Path]:
    """One `<kind>.csv` per kind into `directory` (created 0700: it holds credentials)."""
    rendered = {kind: to_csv(columns, rows) for kind, (columns, rows) in tables(doc).items()}
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    written = []
    for kind, text in rendered.items():
        path = directory / f"{kind}.csv"
        path.touch(mode=0o600)
        path.write_text(text)
        written.append(path)
    return written
