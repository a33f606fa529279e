"""The operator for a test: in this process, with a clock the test moves (`InProcessOperator`), or as
child processes (`devcluster.operator_process`), for what must survive a kill or be seen in a log."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from strongroom.controllers.context import Settings
from strongroom.devcluster.controlplane import LocalCluster
from strongroom.devcluster.operator_process import Replica, wait_ready
from strongroom.devcluster.users import LEASE_NAME, OPERATOR_NAMESPACE, WEBHOOK_SERVICE
from strongroom.runtime.leader import LeaseSettings
from strongroom.runtime.logs import JsonLines
from strongroom.runtime.run import Operator, RunOptions, WebhookOptions, build, fill_caches, serve, serving_files
from tests.clock import MovableClock
from tests.waiting import eventually
from tests.world import webhooks_answer, webhooks_configured


class InProcessOperator:
    """A replica running in a thread of the test process, on `clock`."""

    def __init__(self, local: LocalCluster, directory: Path, *, retention: timedelta = timedelta(days=30),
                 lease_timing: tuple[timedelta, timedelta, timedelta] | None = None, workers: int = 8,
                 lead: bool = True) -> None:
        self.clock = MovableClock()
        self.replica = Replica.create(local, directory)
        self.log_path = directory / f"{self.replica.name}.log"
        self._logger = logging.getLogger(f"strongroom.test.{self.replica.name}")
        self._handler = logging.FileHandler(self.log_path)
        self._handler.setFormatter(JsonLines())
        self._logger.addHandler(self._handler)
        self._logger.setLevel(logging.INFO)
        self._logger.propagate = False
        replica = self.replica
        options = RunOptions(
            kubeconfig=replica.kubeconfig,
            settings=Settings(namespace=OPERATOR_NAMESPACE, retention=retention),
            lease=LeaseSettings(LEASE_NAME, OPERATOR_NAMESPACE, replica.name, *(lease_timing or ())),
            webhook=WebhookOptions(listen=f"{replica.address}:{replica.webhook_port}",
                                   hosts=("127.0.0.1", replica.address, f"{WEBHOOK_SERVICE}.{OPERATOR_NAMESPACE}.svc"),
                                   client_ca=local.webhook_client_ca),
            health_listen=f"127.0.0.1:{replica.health_port}",
            workers=workers,
        )
        self.op: Operator = build(options, clock=self.clock, log=self._logger)
        fill_caches(self.op)
        files = serving_files(self.op, directory)
        self._loop = asyncio.new_event_loop()
        self._stop = asyncio.Event()
        self.exit_code: int | None = None
        self._thread = threading.Thread(target=self._run, args=(files,), name=f"operator-{replica.name}", daemon=True)
        self._thread.start()
        try:
            wait_ready(replica, self._thread.is_alive, 60, self.log_path)
            if lead:
                self._wait_leading()
        except BaseException:
            self.stop()
            raise
        replica.publish()
        if webhooks_configured(replica.admin):  # the API server follows a new address a moment later
            eventually(lambda: webhooks_answer(replica.admin), what="the API server reaching the webhooks")

    def _run(self, files: object) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self.exit_code = self._loop.run_until_complete(serve(self.op, files, stop=self._stop))  # type: ignore[arg-type]
        finally:
            self.replica.unpublish()  # as the endpoints controller does for a Pod whose container ended

    def _wait_leading(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        elector = self.op.elector
        while elector is not None and not elector.leading.is_set():
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.replica.name} did not take the Lease within {timeout}s")
            time.sleep(0.05)

    def run_soon(self, call: Callable[..., object], *args: object) -> None:
        """`call(*args)` on the operator's event loop (as a watch event would be handled)."""
        self._loop.call_soon_threadsafe(call, *args)

    @property
    def ctx(self):
        return self.op.ctx

    def advance(self, by: timedelta) -> None:
        """Move the operator's clock ahead; what falls due runs at once."""
        self.clock.advance(by)

    def settle(self, quiet: float = 0.3, timeout: float = 20, horizon: timedelta = timedelta(seconds=5)) -> None:
        """Wait until the operator has nothing to do: no work queued or running, no deadline due within
        `horizon` (a Safe's counts are written a moment after they change), and every Event posted, for
        `quiet` seconds (watch events of its own writes come back meanwhile)."""
        deadline = time.monotonic() + timeout
        calm_since: float | None = None
        while time.monotonic() < deadline:
            if self.op.manager.idle(within=horizon) and not self.ctx.recorder.pending():
                calm_since = calm_since or time.monotonic()
                if time.monotonic() - calm_since >= quiet:
                    return
            else:
                calm_since = None
            time.sleep(0.02)
        raise AssertionError(f"the operator was still busy after {timeout}s")

    def output(self) -> str:
        self._handler.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        self.replica.unpublish()
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(timeout=20)
        self._logger.removeHandler(self._handler)
        self._handler.close()
        self.replica.remove()
