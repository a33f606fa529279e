"""A throwaway PostgreSQL server for the tests: the distribution's binaries, run as the unprivileged
`postgres` system user (initdb and postgres refuse root) in a temp dir it owns, on a free 127.0.0.1
port, with scram password auth over TCP. It can be stopped and started again (the "target down"
tests) and dies with the test process (PDEATHSIG), so a killed run leaves no server behind."""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from strongroom.devcluster.controlplane import die_with_parent, free_port

SUPERUSER = "postgres"


def bin_dir() -> Path:
    """The newest installed PostgreSQL's bin directory (Debian: /usr/lib/postgresql/<major>/bin)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), key=lambda p: int(Path(p).parts[-3]))
    if not found:
        raise RuntimeError("PostgreSQL is not installed; run .ci/run or `apt-get install -y postgresql`")
    return Path(found[-1]).parent


def _as_postgres() -> list[str]:
    # Root may not run initdb/postgres; drop to the system user the Debian package creates.
    return ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--"] if os.geteuid() == 0 else []


@dataclass
class PostgresServer:
    directory: Path
    port: int = field(default_factory=free_port)
    password: str = field(default_factory=lambda: secrets.token_urlsafe(18), repr=False)
    process: subprocess.Popen[bytes] | None = None

    @property
    def data(self) -> Path:
        return self.directory / "data"

    def init(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        pwfile = self.directory / "pwfile"
        pwfile.write_text(self.password + "\n")
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            for path in (self.directory, pwfile):
                os.chown(path, user.pw_uid, user.pw_gid)
        done = subprocess.run(
            [*_as_postgres(), str(bin_dir() / "initdb"), "-D", str(self.data), "-U", SUPERUSER, "-A", "scram-sha-256",
             f"--pwfile={pwfile}", "--no-sync", "-E", "UTF8", "--locale=C"],
            check=False, capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"initdb failed: {done.stderr.strip()[-500:]}")
        pwfile.unlink()

    def start(self, timeout: float = 30) -> None:
        log = (self.directory / "postgres.log").open("ab")
        self.process = subprocess.Popen(
            [*_as_postgres(), str(bin_dir() / "postgres"), "-D", str(self.data), "-p", str(self.port),
             "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.directory}",
             "-c", "fsync=off", "-c", "log_statement=none"],
            stdout=log, stderr=subprocess.STDOUT, preexec_fn=die_with_parent)  # noqa: PLW1509
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"postgres exited with {self.process.returncode}; see {self.directory}/postgres.log")
            try:
                self.connect().close()
                return
            except psycopg.OperationalError:
                time.sleep(0.1)
        raise RuntimeError(f"postgres did not accept connections within {timeout:.0f}s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # smart shutdown would wait for clients; SIGTERM is "fast"
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def connect(self, user: str = SUPERUSER, password: str | None = None, dbname: str = "postgres"
                ) -> psycopg.Connection:
        return psycopg.connect(host="127.0.0.1", port=self.port, user=user, dbname=dbname,
                               password=self.password if password is None else password,
                               connect_timeout=3, autocommit=True)

    def can_login(self, user: str, password: str) -> bool:
        try:
            self.connect(user, password).close()
        except psycopg.OperationalError:
            return False
        return True

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


def start_server() -> PostgresServer:
    """A new server in its own directory under /tmp (pytest's tmp dirs are private to root)."""
    server = PostgresServer(Path(tempfile.mkdtemp(prefix="strongroom-pg-")))
    server.init()
    server.start()
    return server
