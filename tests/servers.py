"""Throwaway real services for the tests: Mosquitto, InfluxDB 1.x and PostgreSQL databases.

Nothing here is mocked: each server is the Debian binary run as a subprocess on free ports of
127.0.0.1, with its configuration, data and log in a temporary directory that lives as long as the
server object (ARCHITECTURE.md §3).
"""

from __future__ import annotations

import atexit
import getpass
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, NoReturn, Self

import httpx
import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

from tests.waiting import PATIENCE_S

LOCALHOST = "127.0.0.1"
POSTGRES_HOST = "127.0.0.1"
POSTGRES_PORT = 5432
POSTGRES_USER = "postgres"
POSTGRES_MAINTENANCE_DB = "postgres"

_LOG_TAIL_CHARS = 4000
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOCALHOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _free_ports(count: int) -> list[int]:
    """Return ``count`` distinct free ports (the kernel may hand out a just-released port twice)."""
    ports: list[int] = []
    while len(ports) < count:
        port = free_port()
        if port not in ports:
            ports.append(port)
    return ports


def find_binary(name: str) -> str | None:
    """Return the path of a server binary, also looking in the sbin dirs a non-root PATH lacks."""
    found = shutil.which(name)
    if found is not None:
        return found
    for directory in ("/usr/sbin", "/usr/local/sbin", "/sbin"):
        candidate = Path(directory) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def require_service(name: str, reason: str) -> NoReturn:
    """Fail under CI (where every service must be present), skip the test anywhere else."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{name} is required in CI: {reason}", pytrace=False)
    pytest.skip(f"{name} unavailable: {reason}")


class ServerError(RuntimeError):
    """A throwaway server did not start, answer or stop as expected."""


# Servers still running when the interpreter exits (a crashed or interrupted session) are killed,
# so no stray broker or database outlives the test run.
_RUNNING: set[ServerProcess] = set()


@atexit.register
def _kill_leftovers() -> None:
    for server in list(_RUNNING):
        server.kill()


class ServerProcess(ABC):
    """A server subprocess with its own temporary directory; ``restart`` keeps ports and data."""

    binary_name: str

    def __init__(self, *, binary: str | None = None) -> None:
        found = binary or find_binary(self.binary_name)
        if found is None:
            raise ServerError(f"{self.binary_name} not found; run scripts/install-system-deps.sh")
        self.binary = found
        self.host = LOCALHOST
        self._tmp = tempfile.TemporaryDirectory(prefix=f"cityhall-{self.binary_name}-")
        self.directory = Path(self._tmp.name)
        self.log_path = self.directory / f"{self.binary_name}.log"
        self._process: subprocess.Popen[bytes] | None = None

    @abstractmethod
    def command(self) -> list[str]:
        """Return the argv that runs the server in the foreground."""

    @abstractmethod
    def is_ready(self) -> bool:
        """Return True once the server answers on its port."""

    @property
    def running(self) -> bool:
        """Whether the subprocess is alive."""
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        """Process id of the running server, or None."""
        return self._process.pid if self._process is not None else None

    def start(self, timeout: float = PATIENCE_S) -> Self:
        """Spawn the server and block until it is ready (or has exited)."""
        if self.running:
            raise ServerError(f"{self.binary_name} is already running (pid {self.pid})")
        env = {key: value for key, value in os.environ.items() if not key.startswith("INFLUXDB_")}
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.directory,
                env=env,
            )
        _RUNNING.add(self)
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = PATIENCE_S) -> None:
        """Poll until the server answers; raise ServerError with its log if it dies or times out."""
        deadline = time.monotonic() + timeout
        while True:
            if self._process is None or self._process.poll() is not None:
                code = None if self._process is None else self._process.returncode
                raise ServerError(f"{self.binary_name} exited (code {code}):\n{self.log_tail()}")
            if self.is_ready():
                return
            if time.monotonic() > deadline:
                self.kill()
                raise ServerError(f"{self.binary_name} not ready after {timeout}s:\n{self.log_tail()}")
            time.sleep(0.05)

    def stop(self) -> None:
        """SIGTERM and wait, so the server saves its state; SIGKILL if it hangs."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(PATIENCE_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._process = None
        _RUNNING.discard(self)

    def kill(self) -> None:
        """SIGKILL: a crash, with no chance to save anything not already on disk."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            process.kill()
        process.wait()
        self._process = None
        _RUNNING.discard(self)

    def restart(self, timeout: float = PATIENCE_S) -> Self:
        """Stop gracefully and start again on the same ports with the same data."""
        self.stop()
        return self.start(timeout)

    def close(self) -> None:
        """Stop the server and delete its temporary directory."""
        self.stop()
        self._tmp.cleanup()

    def log_tail(self) -> str:
        """The end of the server's log, for error messages."""
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return text[-_LOG_TAIL_CHARS:]

    def __enter__(self) -> Self:
        if not self.running:
            try:
                self.start()
            except BaseException:
                self.close()
                raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _tcp_accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


@dataclass(frozen=True)
class TlsFiles:
    """A throwaway CA and a broker certificate it signed, for 127.0.0.1 (PEM files)."""

    ca: Path
    cert: Path
    key: Path


def make_tls_files(directory: Path, *, common_name: str = "CityHall test CA") -> TlsFiles:
    """Make a CA and a broker certificate for IP 127.0.0.1 with the openssl command (P-256 keys, 2 days)."""
    openssl = find_binary("openssl")
    if openssl is None:
        require_service("openssl", "the openssl command is not installed (scripts/install-system-deps.sh)")
    directory.mkdir(parents=True, exist_ok=True)
    files = TlsFiles(directory / "ca.pem", directory / "broker.pem", directory / "broker.key")
    ca_key, csr, ext = directory / "ca.key", directory / "broker.csr", directory / "broker.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1\n")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    for command in (
        [
            "req",
            "-x509",
            *ec,
            "-keyout",
            ca_key,
            "-out",
            files.ca,
            "-days",
            "2",
            "-subj",
            f"/CN={common_name}",
        ],
        ["req", *ec, "-keyout", files.key, "-out", csr, "-subj", "/CN=127.0.0.1"],
        [
            *("x509", "-req", "-in", csr, "-CA", files.ca, "-CAkey", ca_key, "-CAcreateserial"),
            *("-out", files.cert, "-days", "2", "-extfile", ext),
        ],
    ):
        subprocess.run([openssl, *map(str, command)], check=True, capture_output=True)
    return files


class MosquittoServer(ServerProcess):
    """A Mosquitto 2 broker with anonymous access and on-disk persistence; with `tls`, its listener speaks
    only TLS with that certificate."""

    binary_name = "mosquitto"

    def __init__(
        self, *, port: int | None = None, binary: str | None = None, tls: TlsFiles | None = None
    ) -> None:
        super().__init__(binary=binary)
        self.tls = tls
        self.port = port if port is not None else free_port()
        self.data_dir = self.directory / "data"
        self.data_dir.mkdir()
        self.config_path = self.directory / "mosquitto.conf"
        self.config_path.write_text(self._config())

    def _config(self) -> str:
        # Run as whoever we are: as root, Mosquitto would otherwise switch to the `mosquitto` user,
        # which cannot write into our temporary directory.
        return "\n".join(
            [
                f"user {getpass.getuser()}",
                f"listener {self.port} {self.host}",
                *(
                    [f"cafile {self.tls.ca}", f"certfile {self.tls.cert}", f"keyfile {self.tls.key}"]
                    if self.tls
                    else []
                ),
                "allow_anonymous true",
                "persistence true",
                # The trailing slash matters: Mosquitto concatenates location and file name.
                f"persistence_location {self.data_dir}/",
                "persistence_file mosquitto.db",
                # Save only on exit (stop() sends SIGTERM); kill() then loses unsaved state, as a crash would.
                "autosave_interval 0",
                "max_queued_messages 0",
                "max_inflight_messages 0",
                f"log_dest file {self.log_path}",
                "log_type error",
                "log_type warning",
                "log_type notice",
                "log_type information",
                "connection_messages true",
                "log_timestamp_format %Y-%m-%dT%H:%M:%S",
                "",
            ]
        )

    @property
    def persistence_file(self) -> Path:
        """Where the broker saves sessions and queued messages."""
        return self.data_dir / "mosquitto.db"

    def command(self) -> list[str]:
        """Mosquitto in the foreground with the generated config."""
        return [self.binary, "-c", str(self.config_path)]

    def is_ready(self) -> bool:
        """The listener accepts TCP connections (Mosquitto listens after loading persistence)."""
        return _tcp_accepts(self.host, self.port)


class InfluxServer(ServerProcess):
    """An InfluxDB 1.6 server (Debian's influxd) with HTTP on a free port and no auth."""

    binary_name = "influxd"

    def __init__(self, *, binary: str | None = None) -> None:
        super().__init__(binary=binary)
        self.port, self.rpc_port = _free_ports(2)
        self.config_path = self.directory / "influxdb.conf"
        self.config_path.write_text(self._config())

    def _config(self) -> str:
        # Keys checked against `influxd config` of Debian's 1.6.7: Debian patches the top-level
        # `reporting-disabled` into `reporting-enabled`.
        root = self.directory
        return f"""\
reporting-enabled = false
bind-address = "{self.host}:{self.rpc_port}"

[meta]
  dir = "{root / "meta"}"
  retention-autocreate = true
  logging-enabled = false

[data]
  dir = "{root / "data"}"
  wal-dir = "{root / "wal"}"
  wal-fsync-delay = "0s"
  query-log-enabled = false

[retention]
  enabled = false

[shard-precreation]
  enabled = false

[monitor]
  store-enabled = false

[subscriber]
  enabled = false

[http]
  enabled = true
  bind-address = "{self.host}:{self.port}"
  auth-enabled = false
  log-enabled = false
  pprof-enabled = false
  unix-socket-enabled = false
  bind-socket = "{root / "influxd.sock"}"

[ifql]
  enabled = false

[logging]
  level = "warn"
  suppress-logo = true

[[graphite]]
  enabled = false

[[collectd]]
  enabled = false

[[opentsdb]]
  enabled = false

[[udp]]
  enabled = false

[continuous_queries]
  enabled = false
  log-enabled = false
"""

    @property
    def url(self) -> str:
        """Base URL of the HTTP API, e.g. http://127.0.0.1:41234."""
        return f"http://{self.host}:{self.port}"

    def command(self) -> list[str]:
        """Influxd in the foreground with the generated config."""
        return [self.binary, "run", "-config", str(self.config_path)]

    def is_ready(self) -> bool:
        """GET /ping answers 204."""
        try:
            return httpx.get(f"{self.url}/ping", timeout=PATIENCE_S).status_code == 204
        except httpx.TransportError:
            return False

    def query(
        self, influxql: str, db: str | None = None, *, bind: Mapping[str, str | int | float] | None = None
    ) -> dict[str, Any]:
        """Run InfluxQL via POST /query, with `$name` bound parameters; raise ServerError on any error."""
        form = {"q": influxql}
        if db is not None:
            form["db"] = db
        if bind:
            form["params"] = json.dumps(dict(bind))
        response = httpx.post(f"{self.url}/query", data=form, timeout=PATIENCE_S)
        body: dict[str, Any] = response.json()
        errors = [body["error"]] if "error" in body else []
        errors += [result["error"] for result in body.get("results", []) if "error" in result]
        if response.status_code != 200 or errors:
            raise ServerError(f"InfluxQL {influxql!r} failed ({response.status_code}): {errors or body}")
        return body

    def create_database(self, name: str) -> None:
        """CREATE DATABASE (a no-op if it exists)."""
        quoted = name.replace("\\", "\\\\").replace('"', '\\"')
        self.query(f'CREATE DATABASE "{quoted}"')


def _postgres_conninfo(dbname: str) -> str:
    # A server that is not there refuses at once; one that is there but slow (a loaded machine) is waited for.
    return psycopg.conninfo.make_conninfo(
        host=POSTGRES_HOST,
        port=POSTGRES_PORT,
        user=POSTGRES_USER,
        dbname=dbname,
        connect_timeout=int(PATIENCE_S),
    )


def _sqlalchemy_url(dbname: str) -> str:
    return f"postgresql+psycopg://{POSTGRES_USER}@{POSTGRES_HOST}:{POSTGRES_PORT}/{dbname}"


def postgres_url() -> str | None:
    """SQLAlchemy URL of the local server's maintenance database, or None if the server does not answer."""
    try:
        with psycopg.connect(_postgres_conninfo(POSTGRES_MAINTENANCE_DB), autocommit=True) as conn:
            conn.execute("SELECT 1")
    except psycopg.OperationalError:
        return None
    return _sqlalchemy_url(POSTGRES_MAINTENANCE_DB)


def fresh_postgres_database(prefix: str = "cityhall_test") -> str:
    """Create an empty, uniquely named database and return its SQLAlchemy URL."""
    if not _IDENTIFIER.fullmatch(prefix):
        raise ValueError(f"database prefix must be a lower-case identifier, got {prefix!r}")
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"
    with psycopg.connect(_postgres_conninfo(POSTGRES_MAINTENANCE_DB), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return _sqlalchemy_url(name)


def drop_postgres_database(name_or_url: str) -> None:
    """Terminate the connections to a database and drop it; takes its name or its URL."""
    name = make_url(name_or_url).database if "://" in name_or_url else name_or_url
    if not name or name in {POSTGRES_MAINTENANCE_DB, "test", "template0", "template1"}:
        raise ValueError(f"refusing to drop database {name!r}")
    with psycopg.connect(_postgres_conninfo(POSTGRES_MAINTENANCE_DB), autocommit=True) as conn:
        # WITH (FORCE) (PostgreSQL 13+) terminates the database's sessions first, so a leaked
        # engine in a test cannot block the drop.
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
