"""Run the operator in this process against the given kubeconfig (default: in-cluster or $KUBECONFIG)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import kopf

import strongroom.handlers  # noqa: F401  (importing registers the handlers)
from strongroom.context import OperatorContext


def run(kubeconfig: Path | None, liveness: str | None, namespaces: tuple[str, ...] = ()) -> None:
    kopf.configure(log_format=kopf.LogFormat.JSON, verbose=False)
    ctx = OperatorContext.connect(kubeconfig)
    asyncio.run(
        kopf.operator(
            clusterwide=not namespaces,
            namespaces=list(namespaces),
            standalone=True,
            liveness_endpoint=liveness,
            memo=kopf.Memo(ctx=ctx),
        )
    )
