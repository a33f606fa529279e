"""What the operator's handlers share: its API client, identity, sealing key and webhook settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from kubernetes import client

from strongroom.kube.locks import KeyedLocks
from strongroom.webhook.configurations import ClientConfig
from strongroom.webhook.server import ServingFiles


@dataclass(frozen=True)
class WebhookSettings:
    listen_addr: str
    port: int
    files: ServingFiles
    client_config: ClientConfig | None  # None: the configurations are installed by someone else (the chart)


@dataclass
class OperatorContext:
    """Handed to every handler as kopf's `memo.ctx`; identity and key are filled in at startup."""

    api: client.ApiClient
    namespace: str
    webhook: WebhookSettings | None
    retention: timedelta = timedelta(days=30)
    user: str = ""
    key: bytes = field(default=b"", repr=False)
    # What each pending request was last decided on (uid -> fingerprint of spec and reviews), so the
    # watch events of the operator's own status writes do not redo the whole decision.
    decided: dict[str, str] = field(default_factory=dict, repr=False)
    # A Grant's daemon and its timer take its lock, so two steps never deliver the same Grant at once.
    grant_locks: KeyedLocks = field(default_factory=KeyedLocks, repr=False)
    # Decisions that count a Safe's grants (exclusive check-out, a per-user limit) take the Safe's
    # lock, so two requests decided at once cannot both take the last place.
    safe_locks: KeyedLocks = field(default_factory=KeyedLocks, repr=False)
