"""Operator-wide settings, the operator's own identity and sealing key, and the webhook server."""

from __future__ import annotations

import logging
from typing import Any

import kopf
from kubernetes import client

from strongroom.api.group import GROUP
from strongroom.controllers.context import OperatorContext
from strongroom.identity.keys import ensure_signing_key
from strongroom.kube import client as kube
from strongroom.webhook import configurations as webhooks
from strongroom.webhook import server as webhook_server


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, logger: logging.Logger, **_: Any) -> None:
    settings.persistence.finalizer = f"{GROUP}/finalizer"
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=GROUP)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=GROUP, key="last-handled-configuration"
    )
    # Strongroom posts its own Events with care for what they say; kopf's would be noise.
    settings.posting.enabled = False
    settings.watching.server_timeout = 300
    settings.networking.request_timeout = 30
    # Sync handlers and webhooks share this pool; the default (CPUs + 4) starves under load.
    settings.execution.max_workers = 32

    ctx: OperatorContext = memo.ctx
    ctx.user = client.AuthenticationV1Api(ctx.api).create_self_subject_review(
        client.V1SelfSubjectReview(metadata=client.V1ObjectMeta())
    ).status.user_info.username
    ctx.key = ensure_signing_key(ctx.api, ctx.namespace)
    logger.info(f"running as {ctx.user}; sealing key in {ctx.namespace}")
    if ctx.webhook is None:
        return
    settings.admission.server = webhook_server.server(ctx.webhook.listen_addr, ctx.webhook.port, ctx.webhook.files)
    settings.admission.managed = None
    if ctx.webhook.client_config is not None:
        kube.apply(ctx.api, webhooks.configurations(ctx.webhook.client_config, ctx.user))
        logger.info("webhook configurations applied (they stay when the operator stops: writes fail closed)")
