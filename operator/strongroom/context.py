"""What the operator's handlers share: its API client, built once from an explicit kubeconfig."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kubernetes import client

from strongroom.kube import api_client


@dataclass
class OperatorContext:
    """Handed to every handler as kopf's `memo.ctx`."""

    api: client.ApiClient

    @classmethod
    def connect(cls, kubeconfig: Path | None) -> OperatorContext:
        return cls(api=api_client(kubeconfig))
