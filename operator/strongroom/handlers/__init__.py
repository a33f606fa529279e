"""kopf registration, and nothing else: the watch streams that feed the controllers, the admission
webhooks, and the login. `register` is called once, explicitly, by the runtime."""

from __future__ import annotations

from collections.abc import Callable

import kopf

from strongroom.controllers.context import Context
from strongroom.handlers import admission, login, watches


def register(registry: kopf.OperatorRegistry, ctx: Context, on_fence: Callable[[str], None] | None = None) -> None:
    login.register(registry, ctx.kube.api)
    watches.register(registry, ctx, on_fence)
    admission.register(registry, ctx)
