"""kopf logs in with exactly the credentials of the operator's own API client."""

from __future__ import annotations

from typing import Any

import kopf
from kubernetes import client


def register(registry: kopf.OperatorRegistry, api: client.ApiClient) -> None:
    @kopf.on.login(registry=registry)
    def login(**_: Any) -> kopf.ConnectionInfo:
        config = api.configuration
        header = config.get_api_key_with_prefix("BearerToken") or config.get_api_key_with_prefix("authorization")
        scheme, _, token = (header or "").rpartition(" ")
        return kopf.ConnectionInfo(
            server=config.host,
            ca_path=config.ssl_ca_cert,
            insecure=not config.verify_ssl,
            scheme=scheme or "Bearer" if token else None,
            token=token or None,
            certificate_path=config.cert_file,
            private_key_path=config.key_file,
        )
