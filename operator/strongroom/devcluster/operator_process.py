"""`strongroom operator` as a child process on the local control plane, serving its webhooks on a free
127.0.0.1 port. Started means ready: healthy, and the webhook server accepting connections (the
configurations point at it and fail closed, so a write sent earlier would be refused)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from strongroom.devcluster.controlplane import die_with_parent, free_port
from strongroom.devcluster.users import OPERATOR_NAMESPACE


@dataclass
class LocalOperator:
    process: subprocess.Popen[bytes]
    log: Path
    health: str
    webhook_port: int

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(self.health, timeout=1) as response:
                if response.status != 200:
                    return False
            with socket.create_connection(("127.0.0.1", self.webhook_port), timeout=1):
                return True
        except OSError:
            return False


def start(kubeconfig: Path, log: Path, *extra: str, tied: bool = False, timeout: float = 60,
          webhook_port: int | None = None) -> LocalOperator:
    """Start the operator as the identity of `kubeconfig`; `tied` makes it die with this process.
    The webhook listens on `webhook_port` (default: a free one)."""
    webhook_port = webhook_port or free_port()
    health = f"http://127.0.0.1:{free_port()}/healthz"
    command = [
        sys.executable, "-m", "strongroom", "operator", "--kubeconfig", str(kubeconfig),
        "--operator-namespace", OPERATOR_NAMESPACE, "--liveness", health,
        "--webhook-listen", f"127.0.0.1:{webhook_port}", "--webhook-url", f"https://127.0.0.1:{webhook_port}",
        *extra,
    ]
    with log.open("ab") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                   preexec_fn=die_with_parent if tied else None)  # noqa: PLW1509
    started = LocalOperator(process, log, health, webhook_port)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the operator exited with {process.returncode}; see {log}")
        if started.ready():
            return started
        time.sleep(0.1)
    started.stop()
    raise RuntimeError(f"the operator was not ready within {timeout:.0f}s; see {log}")
