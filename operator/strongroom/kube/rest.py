"""The operator's calls to the API server, as plain JSON over the official client's connection pool.

Going around the client's generated models saves their (de)serialisation on the hot path, and one
place sees every call: each is counted (verb, resource, code) for the metrics and the benchmarks.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

import urllib3
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from strongroom.api.group import GROUP, VERSION

JSON = "application/json"
MERGE_PATCH = "application/merge-patch+json"
REQUEST_TIMEOUT = 10.0

# (verb, resource, HTTP code or 0 when no answer, seconds)
CallObserver = Callable[[str, str, int, float], None]


def custom_path(plural: str, namespace: str, name: str = "", sub: str = "") -> str:
    """The path of a Strongroom object (or of the collection, without `name`)."""
    return _join(f"/apis/{GROUP}/{VERSION}/namespaces/{quote(namespace)}/{plural}", name, sub)


def core_path(resource: str, namespace: str = "", name: str = "") -> str:
    base = f"/api/v1/namespaces/{quote(namespace)}/{resource}" if namespace else f"/api/v1/{resource}"
    return _join(base, name)


def group_path(group_version: str, resource: str, namespace: str = "", name: str = "") -> str:
    base = f"/apis/{group_version}" + (f"/namespaces/{quote(namespace)}" if namespace else "") + f"/{resource}"
    return _join(base, name)


def _join(base: str, name: str, sub: str = "") -> str:
    return base + (f"/{quote(name)}" if name else "") + (f"/{sub}" if sub else "")


def _resource(path: str) -> str:
    """`secrets`, `grants/status`, `namespaces`: what a path names, for counting."""
    parts = [p for p in path.split("?", maxsplit=1)[0].split("/") if p]
    parts = parts[2:] if parts[:1] == ["api"] else parts[3:]  # past /api/v1 or /apis/group/version
    if parts[:1] == ["namespaces"] and len(parts) > 2:
        parts = parts[2:]  # a namespaced resource, past namespaces/<name>
    return parts[0] + (f"/{parts[2]}" if len(parts) > 2 else "") if parts else "?"


class Kube:
    """JSON in, JSON out; an ApiException on anything but 2xx (404 as None where the caller asks)."""

    def __init__(self, api: client.ApiClient, observe: CallObserver | None = None,
                 timeout: float = REQUEST_TIMEOUT) -> None:
        self.api = api
        self._observe = observe
        self._timeout = timeout

    def request(self, method: str, path: str, *, query: Mapping[str, str] | None = None, body: Any = None,
                content_type: str = JSON) -> Any:
        serialized = self.api.param_serialize(
            method, path, query_params=list((query or {}).items()) or None,
            header_params={"Accept": JSON, "Content-Type": content_type}, body=body, auth_settings=["BearerToken"])
        verb, url, headers, payload, _ = serialized
        started, code = time.monotonic(), 0
        try:
            response = self.api.call_api(verb, url, headers, payload, _request_timeout=self._timeout)
            data = response.read()
            code = response.status
            if not 200 <= code <= 299:
                raise ApiException.from_response(http_resp=response, body=data.decode(errors="replace"), data=None)
            return json.loads(data) if data else None
        finally:
            if self._observe is not None:
                self._observe(method, _resource(path), code, time.monotonic() - started)

    def get(self, path: str) -> dict[str, Any] | None:
        """The object, or None when it does not exist."""
        return absent_is_none(lambda: self.request("GET", path))

    def list(self, path: str, *, fields: str = "", labels: str = "") -> list[dict[str, Any]]:
        query = {k: v for k, v in (("fieldSelector", fields), ("labelSelector", labels)) if v}
        return list(self.request("GET", path, query=query)["items"])

    def create(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return dict(self.request("POST", path, body=dict(body)))

    def merge_patch(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return dict(self.request("PATCH", path, body=dict(body), content_type=MERGE_PATCH))

    def delete(self, path: str, *, uid: str | None = None, propagation: str | None = None) -> bool:
        """Delete; with `uid`, only that very object (a namesake is left alone: 409). False when gone."""
        options: dict[str, Any] = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if uid:
            options["preconditions"] = {"uid": uid}
        if propagation:
            options["propagationPolicy"] = propagation
        try:
            self.request("DELETE", path, body=options)
        except ApiException as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def delete_collection(self, path: str, labels: str) -> list[dict[str, Any]]:
        """Delete every object of the collection `path` carrying `labels`; returns what was deleted."""
        answer = self.request("DELETE", path, query={"labelSelector": labels})
        return list((answer or {}).get("items") or [])


# Answers that say "not now" rather than "no": worth a quick retry while a deadline is due.
TRANSIENT_CODES = frozenset({0, 403, 408, 429, 500, 502, 503, 504})


# A starting API server refuses writes under an admission policy whose parameter kind it has not
# discovered yet (422 "failed to configure policy"): the policy is fine, the server is not ready.
POLICY_NOT_READY = "failed to configure policy"


def is_transient(error: BaseException) -> bool:
    """The API server did not answer, or answered that it cannot now (starting, overloaded). A 403 is
    among them: a restarting API server refuses until its RBAC cache is filled."""
    if isinstance(error, ApiException):
        return error.status in TRANSIENT_CODES or (error.status == 422 and POLICY_NOT_READY in (error.body or ""))
    return getattr(error, "transient", False) or isinstance(error, urllib3.exceptions.HTTPError | OSError |
                                                                   TimeoutError)


def absent_is_none(read: Callable[[], Any]) -> Any:
    """The result of `read`, or None when the API server answers 404."""
    try:
        return read()
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise
