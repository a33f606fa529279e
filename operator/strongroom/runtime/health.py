"""The operator's own HTTP endpoint: /healthz (the process answers), /readyz (its caches are filled
and its webhook server accepts connections; leading is not part of it: a standby serves admission
too), /metrics (Prometheus)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest


async def _port_open(host: str, port: int) -> bool:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout=1)
    except (OSError, TimeoutError):
        return False
    writer.close()
    return True


async def serve(listen: str, registry: CollectorRegistry, synced: Callable[[], bool], webhook: tuple[str, int]
                ) -> web.AppRunner:
    host, _, port = listen.rpartition(":")

    async def healthz(_: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def readyz(_: web.Request) -> web.Response:
        if not synced():
            return web.Response(status=503, text="caches not filled yet\n")
        if not await _port_open(*webhook):
            return web.Response(status=503, text="webhook server not answering\n")
        return web.Response(text="ok\n")

    async def metrics(_: web.Request) -> web.Response:
        return web.Response(body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application()
    app.add_routes([web.get("/healthz", healthz), web.get("/readyz", readyz), web.get("/metrics", metrics)])
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host or "0.0.0.0", int(port)).start()
    return runner
