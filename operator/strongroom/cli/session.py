"""Who is at the terminal: the person's own kubeconfig, context and namespace, so every action the
command line takes is that person's, checked by the API server as theirs."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import click
from kubernetes import client, config

from strongroom.cli.errors import EXIT_USAGE, CliError
from strongroom.kube.client import api_client, whoami

F = TypeVar("F", bound=Callable[..., Any])
DEFAULT_NAMESPACE = "default"


@dataclass
class Session:
    """An API client acting as the person, and the namespace they work in."""

    api: client.ApiClient
    namespace: str
    output: str
    _identity: tuple[str, tuple[str, ...]] | None = field(default=None, repr=False)

    @property
    def identity(self) -> tuple[str, tuple[str, ...]]:
        """(user, groups) as the API server authenticates this person (a SelfSubjectReview)."""
        if self._identity is None:
            self._identity = whoami(self.api)
        return self._identity

    @property
    def user(self) -> str:
        return self.identity[0]


def _context_namespace(kubeconfig: Path | None, context: str | None) -> str:
    try:
        contexts, active = config.list_kube_config_contexts(str(kubeconfig) if kubeconfig else None)
    except (config.ConfigException, OSError):
        return DEFAULT_NAMESPACE  # in-cluster, or no kubeconfig: api_client reports the real problem
    chosen = next((c for c in contexts if c["name"] == context), None) if context else active
    return ((chosen or {}).get("context") or {}).get("namespace") or DEFAULT_NAMESPACE


def open_session(kubeconfig: Path | None, context: str | None, namespace: str | None, output: str) -> Session:
    try:
        api = api_client(kubeconfig, context)
    except (config.ConfigException, OSError) as exc:
        raise CliError(f"cannot load the kubeconfig: {exc}; pass --kubeconfig or set KUBECONFIG", EXIT_USAGE) from exc
    return Session(api, namespace or _context_namespace(kubeconfig, context), output)


def session_options(*outputs: str) -> Callable[[F], F]:
    """Adds --kubeconfig/--context/-n/-o and hands the command a `session` instead of them.
    `outputs` are the formats it offers besides the default table."""

    def decorate(command: F) -> F:
        @click.option("--kubeconfig", type=click.Path(dir_okay=False, path_type=Path), envvar="KUBECONFIG",
                      help="The kubeconfig to act with (default: $KUBECONFIG or ~/.kube/config).")
        @click.option("--context", help="The kubeconfig context to use.")
        @click.option("-n", "--namespace", help="The namespace (default: the context's).")
        @click.option("-o", "--output", type=click.Choice(["table", *outputs]), default="table", show_default=True,
                      help="Output format.")
        @functools.wraps(command)
        def wrapper(kubeconfig: Path | None, context: str | None, namespace: str | None, output: str,
                    **kwargs: Any) -> Any:
            session = open_session(kubeconfig, context, namespace, output)
            try:
                return command(session, **kwargs)
            finally:
                session.api.close()

        return wrapper  # type: ignore[return-value]

    return decorate
