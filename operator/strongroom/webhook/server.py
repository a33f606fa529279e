"""The HTTPS server kopf answers admission requests on, with a certificate we make ourselves."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

import kopf

from strongroom.webhook import certificates as pki


@dataclass(frozen=True)
class ServingFiles:
    cert: Path
    key: Path
    ca: Path

    @classmethod
    def in_dir(cls, directory: Path) -> ServingFiles:
        """Mounted material (a Secret made by the chart or cert-manager): tls.crt, tls.key, ca.crt."""
        files = cls(directory / "tls.crt", directory / "tls.key", directory / "ca.crt")
        missing = [str(p) for p in (files.cert, files.key, files.ca) if not p.exists()]
        if missing:
            raise FileNotFoundError(f"webhook certificate files missing: {', '.join(missing)}")
        return files

    @classmethod
    def generate(cls, directory: Path, hosts: list[str]) -> ServingFiles:
        """A fresh CA and serving certificate for `hosts` (DNS names or IP addresses)."""
        ips = [h for h in hosts if _is_ip(h)]
        names = [h for h in hosts if not _is_ip(h)]
        ca = pki.make_ca("strongroom-webhook-ca")
        serving = pki.issue_serving_cert(ca, "strongroom-webhook", names, ips)
        files = cls(directory / "tls.crt", directory / "tls.key", directory / "ca.crt")
        serving.write(files.cert, files.key)
        files.ca.write_bytes(ca.cert_pem)
        return files


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def server(listen_addr: str, port: int, files: ServingFiles) -> kopf.WebhookServer:
    return kopf.WebhookServer(
        addr=listen_addr, port=port, certfile=str(files.cert), pkeyfile=str(files.key), cafile=str(files.ca)
    )
