"""A minimal HTTPS admission webhook, served from the test process, that denies what a predicate says."""

from __future__ import annotations

import json
import ssl
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from strongroom.webhook import certificates as pki

Review = dict[str, Any]


@contextmanager
def serve_admission(deny: Callable[[Review], str | None]) -> Iterator[tuple[str, bytes, list[Review]]]:
    """Yields (url, caBundle PEM, reviews seen). `deny(request)` returns a refusal message or None."""
    ca = pki.make_ca("harness-webhook-ca")
    serving = pki.issue_serving_cert(ca, "harness-webhook", ["localhost"], ["127.0.0.1"])
    seen: list[Review] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            review = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            request = review["request"]
            seen.append(request)
            message = deny(request)
            response: dict[str, Any] = {"uid": request["uid"], "allowed": message is None}
            if message is not None:
                response["status"] = {"code": 403, "message": message}
            body = json.dumps({"apiVersion": review["apiVersion"], "kind": review["kind"],
                               "response": response}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with tempfile.TemporaryDirectory() as tmp:
        cert, key = Path(tmp) / "tls.crt", Path(tmp) / "tls.key"
        serving.write(cert, key)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/validate", ca.cert_pem, seen
    finally:
        server.shutdown()
        server.server_close()
