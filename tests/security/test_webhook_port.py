"""Seals come only from the API server: the webhook server answers nobody else."""

from __future__ import annotations

import json
import socket
import ssl
import uuid

import pytest

from strongroom.webhook import certificates as pki
from tests.operators import InProcessOperator

REVIEW = {
    "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
    "request": {
        "uid": str(uuid.uuid4()), "operation": "CREATE", "namespace": "team",
        "kind": {"group": "strongroom.dev", "version": "v1alpha1", "kind": "AccessRequest"},
        "resource": {"group": "strongroom.dev", "version": "v1alpha1", "resource": "accessrequests"},
        "userInfo": {"username": "alice", "groups": ["dev", "system:authenticated"]},
        "object": {"apiVersion": "strongroom.dev/v1alpha1", "kind": "AccessRequest",
                   "metadata": {"name": "forged", "namespace": "team"},
                   "spec": {"account": {"namespace": "vault", "name": "db"}, "duration": "1h"}},
    },
}


def post(operator: InProcessOperator, context: ssl.SSLContext) -> bytes:
    """POST a forged AdmissionReview to the stamping webhook as a client that is not the API server."""
    body = json.dumps(REVIEW).encode()
    replica = operator.replica
    with socket.create_connection((replica.address, replica.webhook_port), timeout=5) as raw, \
            context.wrap_socket(raw, server_hostname=replica.address) as tls:
        tls.sendall(b"POST /stamp-requester HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)
        answer = b""
        while chunk := tls.recv(65536):
            answer += chunk
    return answer


def _client_context(cert: pki.KeyPair | None, tmp_path) -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the attacker need not trust the server; the server must not trust them
    if cert is not None:
        cert.write(tmp_path / "c.crt", tmp_path / "c.key")
        context.load_cert_chain(tmp_path / "c.crt", tmp_path / "c.key")
    return context


def _answer(operator: InProcessOperator, context: ssl.SSLContext) -> bytes:
    try:
        return post(operator, context)
    except (ssl.SSLError, OSError) as refused:
        return f"refused: {refused}".encode()


@pytest.mark.parametrize("credential", ["none", "a-certificate-from-another-ca"])
def test_a_forged_admission_review_from_anyone_but_the_api_server_gets_no_seal(
    operator: InProcessOperator, tmp_path, credential: str
) -> None:
    cert = pki.issue_client_cert(pki.make_ca("attacker"), "kube-apiserver") if credential != "none" else None
    answer = _answer(operator, _client_context(cert, tmp_path))
    assert b"HTTP/1.1 200" not in answer and b"requesterSignature" not in answer, answer[:300]


def test_the_api_servers_own_client_certificate_is_answered(operator: InProcessOperator, cluster, tmp_path) -> None:
    """The control: the same request with the API server's client certificate is stamped and sealed."""
    pki_dir = cluster.local.pki_dir
    context = _client_context(None, tmp_path)
    context.load_cert_chain(pki_dir / "webhook-client.crt", pki_dir / "webhook-client.key")
    answer = _answer(operator, context)
    assert b"HTTP/1.1 200" in answer and b'"allowed": true' in answer.replace(b'"allowed":true', b'"allowed": true')
