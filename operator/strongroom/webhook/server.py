"""The HTTPS server kopf answers admission requests on: one serving certificate shared by every replica,
and, where the API server presents one, a client certificate required of every caller.

The serving certificate and its CA live in the Secret `strongroom-webhook-tls` in the operator's
namespace: the first replica to start makes it, every other one reads it, so the CA bundle in the
webhook configuration is the same whichever replica answers. With cert-manager, the chart mounts its
certificate instead (`--webhook-cert-dir`).
"""

from __future__ import annotations

import base64
import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path

import kopf
from kubernetes.client.exceptions import ApiException

from strongroom.kube.rest import Kube, core_path
from strongroom.webhook import certificates as pki
from strongroom.webhook.policies import WEBHOOK_TLS_SECRET


@dataclass(frozen=True)
class ServingFiles:
    cert: Path
    key: Path
    ca: Path

    @classmethod
    def in_dir(cls, directory: Path) -> ServingFiles:
        """Mounted material (a Secret made by cert-manager): tls.crt, tls.key, ca.crt."""
        files = cls(directory / "tls.crt", directory / "tls.key", directory / "ca.crt")
        missing = [str(p) for p in (files.cert, files.key, files.ca) if not p.exists()]
        if missing:
            raise FileNotFoundError(f"webhook certificate files missing: {', '.join(missing)}")
        return files

    @classmethod
    def shared(cls, kube: Kube, namespace: str, hosts: list[str], directory: Path) -> ServingFiles:
        """The serving material every replica shares, made by whichever replica comes first, written to
        `directory` for the server to load."""
        path = core_path("secrets", namespace, WEBHOOK_TLS_SECRET)
        found = kube.get(path)
        if found is None:
            ips = [h for h in hosts if _is_ip(h)]
            ca = pki.make_ca("strongroom-webhook-ca")
            serving = pki.issue_serving_cert(ca, "strongroom-webhook", [h for h in hosts if not _is_ip(h)], ips)
            data = {"ca.crt": ca.cert_pem, "tls.crt": serving.cert_pem, "tls.key": serving.key_pem}
            body = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "immutable": True,
                    "metadata": {"name": WEBHOOK_TLS_SECRET, "labels": {"app.kubernetes.io/part-of": "strongroom"}},
                    "data": {k: base64.b64encode(v).decode() for k, v in data.items()}}
            try:
                found = kube.create(core_path("secrets", namespace), body)
            except ApiException as exc:
                if exc.status != 409:  # another replica made it first: use theirs
                    raise
                found = kube.get(path)
        assert found is not None
        files = cls(directory / "tls.crt", directory / "tls.key", directory / "ca.crt")
        for name, target in (("tls.crt", files.cert), ("tls.key", files.key), ("ca.crt", files.ca)):
            target.touch(mode=0o600)
            target.write_bytes(base64.b64decode(found["data"][name]))
        return files


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def server(listen_addr: str, port: int, files: ServingFiles, client_ca: Path | None) -> kopf.WebhookServer:
    """With `client_ca`, only a caller presenting a certificate it signed (the API server) gets an
    answer; the TLS handshake of anyone else fails before a request is read."""
    verify = {"verify_mode": ssl.CERT_REQUIRED, "verify_cafile": str(client_ca)} if client_ca else {}
    return kopf.WebhookServer(addr=listen_addr, port=port, certfile=str(files.cert), pkeyfile=str(files.key),
                              cafile=str(files.ca), **verify)  # type: ignore[arg-type]
