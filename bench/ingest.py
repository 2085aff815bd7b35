"""Issue 4's ingest benchmark: MQTT -> InfluxDB, our collector against its limits and against Node-RED.

One run, one machine, one Mosquitto, one InfluxDB, the same pre-encoded stream for every contender:

* limits: `mosquitto_sub` reading the stream to /dev/null, and InfluxDB's own /write rate for pre-built
  5,000-line batches of the same points;
* peer: Node-RED (`node-red` + `node-red-contrib-influxdb`, npm-installed into a temp dir) with an
  MQTT-in -> function -> InfluxDB-out flow, and a batching variant (join -> "influxdb batch");
* ours: one collector (`python -m cityhall collector`) per batch size, then two sharing a subscription.

Two modes (`--modes live,drain`, both by default, in one run):

* live stream: the stream is published at QoS 1 by a separate process (this file's `_publish` sub-command: a
  raw-socket MQTT 3.1.1 publisher with pre-encoded packets and a 2,000-message in-flight window), as fast as
  the broker takes it, while the contender runs. Sustained rate = N / (first publish -> all N queryable in
  InfluxDB): the slowest of publisher, broker and consumer sharing the cores. Latency is measured in a paced
  run at half the contender's rate: 100 marker readings on an extra meter, InfluxDB polled every 10 ms.
* backlog drain: the consumer's own capacity. The contender connects once with a persistent session (stable
  client id, clean start off) and stops; the whole stream (`--drain-messages`) is published into its
  session; it is started again and timed to the last reading queryable, from its start and from its
  connect (the broker's log). mosquitto_sub (`-c`), Node-RED's batching flow (broker node with
  `cleansession` and `autoUnsubscribe` off) and one collector per `--drain-batch-sizes`.

    .venv/bin/python bench/ingest.py [--messages N] [--repeats R] [--modes live,drain] [--drain-messages M]

Old against new in one run: `--baseline-tree DIR` adds one and two collectors running an older checkout
(`git archive <rev> collector cityhall | tar -x -C DIR`). `--skip-shared`, `--skip-latency` and
`--skip-node-red` shorten a run; `--latency-rate R` paces every latency run at the same rate.

Results go to bench/results/ingest.md (and stdout). Every process and temp dir it starts is cleaned up.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from cityhall.settings import Settings  # noqa: E402 - after sys.path is set

# The batch size the collector ships with: the targets are judged on it.
DEFAULT_BATCH: int = Settings.model_fields["collector_batch_size"].default
PREFIX = "cityhall/v1"
FILTER = f"{PREFIX}/readings/+"
WINDOW = 2000  # publisher's own in-flight limit (unacknowledged PUBLISHes)
LINES_PER_WRITE = 5000
MARKERS = 100
PACED_SECONDS = 12.0
# node-red 5 needs Node.js >= 22.9; with an older node (Debian's 20 here) the last 4.x is used.
NODE_RED_5 = "node-red@5.0.7"
NODE_RED_4 = "node-red@4.1.8"
NODE_RED_INFLUX = "node-red-contrib-influxdb@0.7.0"
NPM_QUIET = ("--no-audit", "--no-fund", "--loglevel=error")
JWT = "bench-ingest-" + "x" * 40
STALL_S = 30.0
BASELINE = "baseline collector (--baseline-tree)"


def node_red_spec() -> str:
    """The newest node-red this machine's Node.js runs."""
    try:
        version = subprocess.run(["node", "--version"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return NODE_RED_5
    major, minor = (int(x) for x in version.strip().lstrip("v").split(".")[:2])
    return NODE_RED_5 if (major, minor) >= (22, 9) else NODE_RED_4


def log(message: str) -> None:
    """Progress on stdout, timestamped."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# --------------------------------------------------------------------------------------------------
# The publisher process (`python bench/ingest.py _publish ...`): raw MQTT 3.1.1, QoS 1, pre-encoded.
# --------------------------------------------------------------------------------------------------
def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _mqtt_str(value: bytes) -> bytes:
    return len(value).to_bytes(2, "big") + value


def _connect_packet(client_id: str) -> bytes:
    body = _mqtt_str(b"MQTT") + bytes([4, 0x02]) + (60).to_bytes(2, "big") + _mqtt_str(client_id.encode())
    return b"\x10" + _varint(len(body)) + body


def _publish_packet(topic: bytes, payload: bytes, packet_id: int) -> bytes:
    body = _mqtt_str(topic) + packet_id.to_bytes(2, "big") + payload
    return b"\x32" + _varint(len(body)) + body


def publish_main(port: int, stream_path: Path, rate: float, client_id: str) -> None:
    """Publish the stream file at QoS 1 when told `go` on stdin; print timings as JSON."""
    rows = [json.loads(line) for line in stream_path.read_text().splitlines()]
    packets = [
        _publish_packet(row["t"].encode(), row["p"].encode(), i % 65535 + 1) for i, row in enumerate(rows)
    ]
    markers = {i: row["m"] for i, row in enumerate(rows) if row["m"] >= 0}
    total = len(packets)
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.sendall(_connect_packet(client_id))
    connack = b""
    while len(connack) < 4:
        connack += sock.recv(4 - len(connack))
    if connack[3] != 0:
        raise SystemExit(f"CONNACK refused: {connack!r}")
    print("ready", flush=True)
    sys.stdin.readline()
    marker_times: dict[int, float] = {}
    sent = received = 0
    t0 = time.time()
    while received < total * 4:
        now = time.time()
        limit = min(total, received // 4 + WINDOW)
        if rate > 0:
            limit = min(limit, int((now - t0) * rate) + 1)
        wait = 0.05
        if sent < limit:
            end = min(limit, sent + 512)
            for i in range(sent, end):
                if i in markers:
                    marker_times[markers[i]] = time.time()
            sock.sendall(b"".join(packets[sent:end]))
            sent = end
            wait = 0.0
        elif rate > 0 and sent < total:
            wait = max(0.0, t0 + sent / rate - now)
        ready, _, _ = select.select([sock], [], [], wait)
        if ready:
            data = sock.recv(1 << 16)
            if not data:
                raise SystemExit("broker closed the connection")
            received += len(data)  # every answer is a 4-byte PUBACK
    t_acked = time.time()
    sock.sendall(b"\xe0\x00")
    sock.close()
    print(json.dumps({"t0": t0, "t_acked": t_acked, "markers": marker_times}), flush=True)


# --------------------------------------------------------------------------------------------------
# Orchestration
# --------------------------------------------------------------------------------------------------
@dataclass
class Result:
    """One contender's measurements over the repeats."""

    name: str
    rates: list[float] = field(default_factory=list)
    rss_mb: list[float] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    cpu_s: list[float] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        """Median readings/s."""
        return statistics.median(self.rates) if self.rates else 0.0

    @property
    def rss(self) -> float | None:
        """Median peak RSS."""
        return statistics.median(self.rss_mb) if self.rss_mb else None

    def percentile(self, p: float) -> float | None:
        """Nearest-rank percentile of the latencies."""
        if not self.latencies_ms:
            return None
        ordered = sorted(self.latencies_ms)
        rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.4999)))
        return ordered[rank - 1]


@dataclass
class Contender:
    """A running contender: its processes and how to stop them."""

    procs: list[subprocess.Popen[bytes]]
    client_ids: list[str]
    cleanup: Callable[[], None] = lambda: None


@dataclass(frozen=True)
class Drained:
    """One backlog drain: readings stored, seconds from the contender's start and from its connect."""

    readings: int
    from_start_s: float
    from_connect_s: float
    rss_mb: float
    cpu_s: float  # the contender's processes, start-up included
    note: str
    drain_cpu: DrainCpu

    @property
    def rate_from_start(self) -> float:
        """Readings/s from process start (start-up included)."""
        return self.readings / self.from_start_s

    @property
    def rate_from_connect(self) -> float:
        """Readings/s from the broker logging its connect: what the consumer itself sustains."""
        return self.readings / self.from_connect_s


@dataclass(frozen=True)
class DrainCpu:
    """CPU seconds used from the contender's connect to the end of the drain: by the contender, by the
    broker and InfluxDB, and by the whole machine (other sessions' work included)."""

    contender_s: float
    servers_s: float
    machine_s: float
    seconds: float

    def per_reading_us(self, readings: int) -> float:
        """The contender's CPU per reading during the drain."""
        return self.contender_s / readings * 1e6

    def cores(self) -> str:
        """Cores busy during the drain: contender / broker + InfluxDB / whole machine."""
        t = self.seconds
        return f"{self.contender_s / t:.2f} / {self.servers_s / t:.2f} / {self.machine_s / t:.2f}"


def machine_busy_s() -> float:
    """CPU seconds the whole machine has been busy (all processes, /proc/stat)."""
    ticks = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")  # minus idle and iowait


def vm_hwm_mb(pid: int) -> float:
    """Peak resident set size of a live process (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a live process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def terminate(proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    """SIGTERM, then SIGKILL if it hangs."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Bench:
    """Servers, stream files and contenders of one benchmark run."""

    def __init__(self, args: argparse.Namespace, stack: contextlib.ExitStack) -> None:
        from tests import servers  # noqa: PLC0415 - after sys.path is set

        self.args = args
        self.n: int = args.messages
        self.tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="cityhall-bench-")))
        self.broker = stack.enter_context(BenchMosquitto(servers.MosquittoServer))
        self.influx = stack.enter_context(servers.InfluxServer())
        self._runs = 0
        self.template, meters, self.tags = self._seed()
        self.marker_device, self.meters = meters[-1], meters[:-1]
        # The streams are stamped one second apart per meter, ending an hour before now: any stream size is
        # in the past, where the collector takes it (it refuses readings stamped in the future).
        longest = max(args.messages, args.drain_messages) // (len(meters) - 1) + 1
        self.base = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1, seconds=longest)
        self.stream = self.tmp / "stream.jsonl"
        self._write_stream(self.stream, self._messages(self.n))
        self.n_drain: int = args.drain_messages
        self.drain_stream = self.stream
        if self.n_drain != self.n:
            self.drain_stream = self.tmp / "drain-stream.jsonl"
            self._write_stream(self.drain_stream, self._messages(self.n_drain))
        self.node_red_dir: Path | None = None
        log(
            f"mosquitto :{self.broker.port}, influxd :{self.influx.port}, {len(self.meters)} meters "
            f"+ marker {self.marker_device}, stream of {self.n:,} messages"
        )

    # --- data ---
    def _seed(self) -> tuple[Path, list[str], dict[str, dict[str, str]]]:
        from sqlalchemy import select as sql_select  # noqa: PLC0415

        from cityhall.assets import import_assets, load_yaml, seed_path  # noqa: PLC0415
        from cityhall.db import make_engine, make_sessionmaker, transaction  # noqa: PLC0415
        from cityhall.migrate import upgrade  # noqa: PLC0415
        from cityhall.models import Device, DeviceKind  # noqa: PLC0415
        from collector.devices import DeviceDirectory  # noqa: PLC0415

        path = self.tmp / "template.db"
        engine = make_engine(f"sqlite:///{path}")
        upgrade(engine)
        factory = make_sessionmaker(engine)
        with transaction(factory) as session:
            import_assets(session, load_yaml(seed_path()), actor="bench")
            query = sql_select(Device.code).where(Device.kind == DeviceKind.ELECTRICITY_METER)
            meters = sorted(session.scalars(query))
        directory = DeviceDirectory(factory)
        directory.reload()
        tags = directory.tags()
        engine.dispose()
        return path, meters, tags

    def _messages(self, count: int, markers: int = 0) -> list[tuple[str, bytes, int]]:
        """`count` stream readings over the meters (distinct timestamps per meter, value i mod 10,000),
        with `markers` marker readings on the marker meter spread evenly over the middle 10/12."""
        from cityhall.contract import encode_native, readings_topic  # noqa: PLC0415

        out: list[tuple[str, bytes, int]] = []
        m = len(self.meters)
        for i in range(count):
            device = self.meters[i % m]
            ts = self.base + timedelta(seconds=i // m)
            out.append(
                (readings_topic(PREFIX, device), encode_native(device, ts, {"power_kw": i % 10_000}), -1)
            )
        topic = readings_topic(PREFIX, self.marker_device)
        for k in reversed(range(markers)):
            at = int(count * (1 + 10 * k / markers) / PACED_SECONDS)
            ts = self.base + timedelta(seconds=k)
            out.insert(at, (topic, encode_native(self.marker_device, ts, {"power_kw": float(k)}), k))
        return out

    @staticmethod
    def _write_stream(path: Path, messages: Sequence[tuple[str, bytes, int]]) -> None:
        with path.open("w") as f:
            for topic, payload, marker in messages:
                f.write(json.dumps({"t": topic, "p": payload.decode(), "m": marker}) + "\n")

    # --- InfluxDB ---
    def fresh_db(self) -> str:
        self._runs += 1
        name = f"bench{self._runs}"
        self.influx.create_database(name)
        return name

    def drop_db(self, name: str) -> None:
        self.influx.query(f'DROP DATABASE "{name}"')

    def count(self, db: str, measurement: str = "power_kw") -> int:
        body = self.influx.query(f'SELECT count("value") FROM "{measurement}"', db)  # noqa: S608
        series = body["results"][0].get("series")
        return int(series[0]["values"][0][1]) if series else 0

    # --- the publisher process ---
    @contextlib.contextmanager
    def publisher(self, stream: Path, rate: float = 0.0) -> Iterator[Publisher]:
        proc = subprocess.Popen(
            [
                sys.executable,
                __file__,
                "_publish",
                "--port",
                str(self.broker.port),
                "--stream",
                str(stream),
                "--rate",
                str(rate),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        try:
            assert proc.stdout is not None  # noqa: S101 - for the type checker
            if proc.stdout.readline().strip() != b"ready":
                raise RuntimeError("publisher did not start")
            yield Publisher(proc)
        finally:
            terminate(proc, 5)

    def warm_up(self, contender: Contender, db: str) -> None:
        """Wait for every client to connect, then for a warm-up reading (energy_kwh) to be queryable."""
        import paho.mqtt.client as mqtt  # noqa: PLC0415
        from paho.mqtt.enums import CallbackAPIVersion  # noqa: PLC0415

        from cityhall.contract import encode_native, readings_topic  # noqa: PLC0415

        deadline = time.monotonic() + 90
        for client_id in contender.client_ids:
            while f" as {client_id} " not in self.broker.log_tail_all():
                self._check_alive(contender)
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{client_id} did not connect")
                time.sleep(0.1)
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-warmup")
        client.connect("127.0.0.1", self.broker.port)
        client.loop_start()
        try:
            topic = readings_topic(PREFIX, self.marker_device)
            while self.count(db, "energy_kwh") == 0:
                self._check_alive(contender)
                if time.monotonic() > deadline:
                    raise RuntimeError("warm-up reading never became queryable")
                payload = encode_native(self.marker_device, self.base, {"energy_kwh": 1.0})
                client.publish(topic, payload, qos=1)
                time.sleep(0.5)
        finally:
            client.disconnect()
            client.loop_stop()
        time.sleep(0.5)

    @staticmethod
    def _check_alive(contender: Contender) -> None:
        for proc in contender.procs:
            if proc.poll() is not None:
                raise RuntimeError(f"contender {proc.args!r} exited with {proc.returncode}")

    def forget_sessions(self, client_ids: Sequence[str]) -> None:
        """Drop the broker's persistent sessions (and subscriptions) of stopped collectors."""
        import paho.mqtt.client as mqtt  # noqa: PLC0415
        from paho.mqtt.enums import CallbackAPIVersion  # noqa: PLC0415
        from paho.mqtt.packettypes import PacketTypes  # noqa: PLC0415
        from paho.mqtt.properties import Properties  # noqa: PLC0415

        for client_id in client_ids:
            client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            props.SessionExpiryInterval = 0
            client.connect("127.0.0.1", self.broker.port, clean_start=True, properties=props)
            client.loop_start()
            time.sleep(0.2)
            client.disconnect()
            client.loop_stop()

    # --- contenders ---
    def start_collectors(self, db: str, *, batch: int, count: int = 1, tree: Path = REPO) -> Contender:
        """`count` collector processes (a shared-subscription group when 2+) running the code in `tree`."""
        run = self._runs
        database = self.tmp / f"run{run}.db"
        if not database.exists():  # a restart in the same run (backlog drain) keeps its database
            shutil.copy(self.template, database)
        procs, ids = [], []
        for k in range(count):
            client_id = f"bench-collector-{run}-{k}"
            data_dir = self.tmp / f"data-{run}-{k}"
            data_dir.mkdir(exist_ok=True)
            env = {
                "PATH": os.environ.get("PATH", ""),
                # An older tree (--baseline-tree) shadows this one; what it lacks still comes from here.
                "PYTHONPATH": os.pathsep.join(dict.fromkeys([str(tree), str(REPO)])),
                "CITYHALL_DATABASE_URL": f"sqlite:///{database}",
                "CITYHALL_DATA_DIR": str(data_dir),
                "CITYHALL_MQTT_HOST": "127.0.0.1",
                "CITYHALL_MQTT_PORT": str(self.broker.port),
                "CITYHALL_MQTT_CLIENT_ID": client_id,
                "CITYHALL_INFLUX_URL": self.influx.url,
                "CITYHALL_INFLUX_DATABASE": db,
                "CITYHALL_JWT_SECRET": JWT,
                "CITYHALL_LOG_LEVEL": "WARNING",
                "CITYHALL_COLLECTOR_BATCH_SIZE": str(batch),
            }
            if count > 1:
                env["CITYHALL_MQTT_SHARE_GROUP"] = "bench"
            with (data_dir / "collector.log").open("ab") as out:
                procs.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "cityhall", "collector"],
                        env=env,
                        cwd=data_dir,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                    )
                )
            ids.append(client_id)
        return Contender(procs, ids, cleanup=lambda: self.forget_sessions(ids))

    def start_node_red(self, db: str, flow: str, *, persistent: bool = False) -> Contender:
        """Node-RED running a flow of bench/nodered/; `persistent`: its MQTT session survives a stop."""
        assert self.node_red_dir is not None  # noqa: S101 - installed before any Node-RED run
        from tests.servers import free_port  # noqa: PLC0415

        client_id = f"bench-nodered-{self._runs}"
        user_dir = self.node_red_dir
        flow_path = REPO / "bench" / "nodered" / flow
        if persistent:
            flow_path = self._persistent_flow(flow_path)
        env = dict(
            os.environ,
            BENCH_FLOW_FILE=str(flow_path),
            BENCH_MQTT_PORT=str(self.broker.port),
            BENCH_MQTT_CLIENT_ID=client_id,
            BENCH_INFLUX_PORT=str(self.influx.port),
            BENCH_INFLUX_DB=db,
        )
        red = user_dir / "node_modules" / "node-red" / "red.js"
        settings = REPO / "bench" / "nodered" / "settings.js"
        command = ["node", str(red), "-u", str(user_dir), "-p", str(free_port()), "-s", str(settings)]
        with (self.tmp / f"node-red-{self._runs}.log").open("ab") as out:
            command.append(str(flow_path))
            proc = subprocess.Popen(command, env=env, cwd=user_dir, stdout=out, stderr=subprocess.STDOUT)
        return Contender([proc], [client_id], cleanup=lambda: self.forget_sessions([client_id]))

    def _persistent_flow(self, flow_path: Path) -> Path:
        """The flow with its broker node set for a persistent session: the fixed client id it already has
        (BENCH_MQTT_CLIENT_ID), `cleansession` false, and `autoUnsubscribe` false (by default the node
        unsubscribes when its flow stops, and a session without the subscription queues nothing)."""
        nodes: list[dict[str, Any]] = json.loads(flow_path.read_text())
        for node in nodes:
            if node["type"] == "mqtt-broker":
                node["cleansession"] = False
                node["autoUnsubscribe"] = False
        out = self.tmp / f"persistent-{flow_path.name}"
        out.write_text(json.dumps(nodes, indent=1))
        return out

    def install_node_red(self) -> None:
        target = self.tmp / "node-red"
        if self.args.node_red_dir:
            self.node_red_dir = Path(self.args.node_red_dir)
            log(f"Node-RED from {self.node_red_dir}")
            return
        log(f"npm install {node_red_spec()} {NODE_RED_INFLUX} into {target}")
        subprocess.run(
            ["npm", "install", "--prefix", str(target), node_red_spec(), NODE_RED_INFLUX, *NPM_QUIET],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        self.node_red_dir = target

    # --- measurements ---
    def throughput(
        self, name: str, start: Callable[[str], Contender], *, profile: Path | None = None
    ) -> tuple[float, float, float, str]:
        """Readings/s, peak RSS (MB, largest contender process), CPU s (all its processes) of one run."""
        db = self.fresh_db()
        contender = start(db)
        spy: subprocess.Popen[bytes] | None = None
        try:
            self.warm_up(contender, db)
            if profile is not None:
                spy = self._py_spy(contender.procs[0].pid, profile)
            with self.publisher(self.stream) as pub:
                t0 = pub.go()
                done, note, t_end = self._wait_count(db, self.n, contender)
                pub.finish()
            rss = max(vm_hwm_mb(p.pid) for p in contender.procs)
            cpu = sum(cpu_seconds(p.pid) for p in contender.procs)
        finally:
            self._end_run(contender, db, spy)
        rate = done / (t_end - t0)
        log(
            f"  {name}: {rate:,.0f} readings/s ({done:,} in {t_end - t0:.1f} s), peak RSS {rss:.0f} MB, "
            f"CPU {cpu:.1f} s {note}"
        )
        return rate, rss, cpu, note

    def _end_run(self, contender: Contender, db: str, spy: subprocess.Popen[bytes] | None = None) -> None:
        """After a run: stop the profiler (it writes its file on SIGINT), the contender, and drop its data."""
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait(60)
        for proc in contender.procs:
            terminate(proc)
        contender.cleanup()
        self.drop_db(db)

    def _wait_count(
        self, db: str, target: int, contender: Contender, *, fine: bool = False
    ) -> tuple[int, str, float]:
        """(readings stored, a note if fewer than `target`, wall time the count last grew). Polled every
        100 ms; with `fine`, every 20 ms once 90 % are stored (a drain lasts seconds: 100 ms would be 5 %)."""
        seen, progress_at = -1, time.time()
        while True:
            count = self.count(db)
            if count >= target:
                return count, "", time.time()
            if count != seen:
                seen, progress_at = count, time.time()
            elif time.time() - progress_at > STALL_S:
                return count, f"stalled at {count:,} of {target:,}", progress_at
            for proc in contender.procs:
                if proc.poll() is not None:
                    return count, f"exited {proc.returncode} at {count:,} of {target:,}", progress_at
            time.sleep(0.02 if fine and count >= 0.9 * target else 0.1)

    def mosquitto_sub(self) -> tuple[float, float, float]:
        """mosquitto_sub -C N to /dev/null: N / (first publish -> N received); peak RSS = VmHWM."""
        proc = subprocess.Popen(
            [
                *("mosquitto_sub", "-h", "127.0.0.1", "-p", str(self.broker.port), "-q", "1", "-t", FILTER),
                *("-C", str(self.n), "-i", f"bench-sub-{self._runs}"),
            ],
            stdout=subprocess.DEVNULL,
        )
        try:
            time.sleep(1.0)
            rss = cpu = 0.0
            with self.publisher(self.stream) as pub:
                t0 = pub.go()
                while proc.poll() is None:
                    # VmHWM while it lives (rusage would count the pre-exec copy of this Python process)
                    with contextlib.suppress(OSError, ValueError):
                        rss = max(rss, vm_hwm_mb(proc.pid))
                        cpu = cpu_seconds(proc.pid)
                    time.sleep(0.002)
                t_end = time.time()
                pub.finish()
        finally:
            terminate(proc)
        rate = self.n / (t_end - t0)
        log(
            f"  mosquitto_sub: {rate:,.0f} readings/s ({t_end - t0:.2f} s), "
            f"peak RSS {rss:.1f} MB, CPU {cpu:.1f} s"
        )
        return rate, rss, cpu

    def influx_limit(self, writers: int) -> float:
        """POST /write of pre-built 5,000-line batches of the same points from `writers` threads."""
        import httpx  # noqa: PLC0415

        from cityhall.contract import Reading  # noqa: PLC0415
        from cityhall.timeseries.lineprotocol import encode  # noqa: PLC0415

        m = len(self.meters)
        readings = [
            Reading(self.meters[i % m], "power_kw", self.base + timedelta(seconds=i // m), float(i % 10_000))
            for i in range(self.n)
        ]
        bodies = [
            encode(readings[i : i + LINES_PER_WRITE], self.tags) for i in range(0, self.n, LINES_PER_WRITE)
        ]
        db = self.fresh_db()
        lock = threading.Lock()
        todo = list(reversed(bodies))

        def worker() -> None:
            with httpx.Client(base_url=self.influx.url, timeout=60) as client:
                while True:
                    with lock:
                        if not todo:
                            return
                        body = todo.pop()
                    resp = client.post("/write", params={"db": db, "precision": "ns"}, content=body)
                    resp.raise_for_status()

        t0 = time.time()
        threads = [threading.Thread(target=worker) for _ in range(writers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        done, _, t_end = self._wait_count(db, self.n, Contender([], []))
        elapsed = t_end - t0
        self.drop_db(db)
        rate = done / elapsed
        log(f"  InfluxDB /write x{writers}: {rate:,.0f} readings/s ({elapsed:.2f} s)")
        return rate

    # --- backlog drain: the consumer's own capacity ---
    def _connections(self, client_id: str) -> int:
        """How often the broker has logged this client id connecting."""
        return self.broker.log_tail_all().count(f" as {client_id} ")

    def _wait_connected(
        self, client_ids: Sequence[str], before: dict[str, int], procs: Sequence[Any]
    ) -> float:
        """Wall time (polled every 5 ms) at which the broker had logged one more connect of every client."""
        deadline = time.monotonic() + 90
        while any(self._connections(c) <= before[c] for c in client_ids):
            for proc in procs:
                if proc.poll() is not None and proc.returncode != 0:
                    raise RuntimeError(f"{proc.args!r} exited with {proc.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{client_ids} did not reconnect")
            time.sleep(0.005)
        return time.time()

    def _cpu_snapshot(self, pids: Sequence[int]) -> tuple[float, float, float, float]:
        """(contender CPU s, broker + InfluxDB CPU s, machine busy s, wall time) now."""
        servers = [pid for pid in (self.broker.server.pid, self.influx.pid) if pid is not None]
        return (
            sum(cpu_seconds(pid) for pid in pids),
            sum(cpu_seconds(pid) for pid in servers),
            machine_busy_s(),
            time.time(),
        )

    @staticmethod
    def _cpu_between(
        first: tuple[float, float, float, float], last: tuple[float, float, float, float]
    ) -> DrainCpu:
        return DrainCpu(*(b - a for a, b in zip(first, last, strict=True)))

    def _fill_backlog(self) -> None:
        """Publish the whole drain stream while no subscriber is connected: the broker queues it (QoS 1)
        in the stopped contender's persistent session."""
        with self.publisher(self.drain_stream) as pub:
            pub.go()
            pub.finish()  # every PUBLISH acknowledged by the broker: all of it is queued

    def drain(self, name: str, start: Callable[[str], Contender], *, profile: Path | None = None) -> Drained:
        """Backlog drain of one contender: it connects once (creating its persistent session and
        subscription, checked end to end by the warm-up reading) and stops; the whole stream is published
        into its session; then it is started again and timed until the last reading is queryable."""
        db = self.fresh_db()
        contender = start(db)
        try:
            self.warm_up(contender, db)
        finally:
            for proc in contender.procs:
                terminate(proc)
        spy: subprocess.Popen[bytes] | None = None
        try:
            self._fill_backlog()
            before = {c: self._connections(c) for c in contender.client_ids}
            t_start = time.time()
            contender = start(db)
            t_connect = self._wait_connected(contender.client_ids, before, contender.procs)
            pids = [p.pid for p in contender.procs]
            at_connect = self._cpu_snapshot(pids)
            if profile is not None:
                spy = self._py_spy(contender.procs[0].pid, profile, settle=0.0)
            done, note, t_end = self._wait_count(db, self.n_drain, contender, fine=True)
            drain_cpu = self._cpu_between(at_connect, self._cpu_snapshot(pids))
            rss = max(vm_hwm_mb(p.pid) for p in contender.procs)
            cpu = sum(cpu_seconds(p.pid) for p in contender.procs)
        finally:
            self._end_run(contender, db, spy)
        result = Drained(done, t_end - t_start, t_end - t_connect, rss, cpu, note, drain_cpu)
        log(
            f"  {name} (drain): {result.rate_from_connect:,.0f} readings/s from connect, "
            f"{result.rate_from_start:,.0f} from start ({done:,} in {result.from_start_s:.2f} s, connected "
            f"after {t_connect - t_start:.2f} s), peak RSS {rss:.0f} MB, CPU {cpu:.1f} s, "
            f"{drain_cpu.per_reading_us(done):.1f} µs a reading while draining, cores (contender / servers "
            f"/ machine) {drain_cpu.cores()} {note}"
        )
        return result

    def drain_mosquitto_sub(self) -> Drained:
        """mosquitto_sub -c (persistent session) subscribes and leaves (-E); the stream is queued; then
        `-C N` is timed until it has received all N (it exits)."""
        self._runs += 1
        client_id = f"bench-sub-drain-{self._runs}"
        common = ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(self.broker.port), "-q", "1", "-t", FILTER]
        common += ["-c", "-i", client_id]
        subprocess.run([*common, "-E"], check=True, timeout=30)
        self._fill_backlog()
        before = {client_id: self._connections(client_id)}
        t_start = time.time()
        proc = subprocess.Popen([*common, "-C", str(self.n_drain)], stdout=subprocess.DEVNULL)
        try:
            t_connect = self._wait_connected([client_id], before, [proc])
            at_connect = self._cpu_snapshot([proc.pid])
            rss = cpu = 0.0
            last = at_connect
            while proc.poll() is None:
                with contextlib.suppress(OSError, ValueError):
                    rss = max(rss, vm_hwm_mb(proc.pid))
                    cpu = cpu_seconds(proc.pid)
                    last = self._cpu_snapshot([proc.pid])
                time.sleep(0.002)
            t_end = time.time()
        finally:
            terminate(proc)
            self.forget_sessions([client_id])
        drain_cpu = self._cpu_between(at_connect, last)
        result = Drained(self.n_drain, t_end - t_start, t_end - t_connect, rss, cpu, "", drain_cpu)
        log(
            f"  mosquitto_sub (drain): {result.rate_from_connect:,.0f} readings/s from connect, "
            f"{result.rate_from_start:,.0f} from start ({result.from_start_s:.2f} s), CPU {cpu:.1f} s, "
            f"cores (contender / servers / machine) {drain_cpu.cores()}"
        )
        return result

    def latency(self, name: str, start: Callable[[str], Contender], rate: float) -> list[float]:
        """Publish -> queryable of 100 markers in a paced run at `rate` messages/s."""
        count = int(rate * PACED_SECONDS)
        stream = self.tmp / f"paced-{self._runs}.jsonl"
        self._write_stream(stream, self._messages(count, MARKERS))
        db = self.fresh_db()
        contender = start(db)
        seen: dict[int, float] = {}
        try:
            self.warm_up(contender, db)
            with self.publisher(stream, rate) as pub:
                pub.go()
                deadline = time.monotonic() + PACED_SECONDS + 60
                query = f'SELECT "value" FROM "power_kw" WHERE "device" = \'{self.marker_device}\''  # noqa: S608
                while len(seen) < MARKERS and time.monotonic() < deadline:
                    body = self.influx.query(query, db)
                    now = time.time()
                    for series in body["results"][0].get("series", []):
                        for _, value in series["values"]:
                            seen.setdefault(int(value), now)
                    time.sleep(0.01)
                timings = pub.finish()
        finally:
            self._end_run(contender, db)
            stream.unlink()
        sent = {int(k): t for k, t in timings["markers"].items()}
        lat = [(seen[k] - sent[k]) * 1000 for k in sorted(sent) if k in seen]
        lost = f", {MARKERS - len(lat)} markers never seen" if len(lat) < MARKERS else ""
        p50, p99 = (
            Result(name, latencies_ms=lat).percentile(50),
            Result(name, latencies_ms=lat).percentile(99),
        )
        log(f"  {name} latency at {rate:,.0f} msg/s: p50 {p50:.0f} ms, p99 {p99:.0f} ms{lost}")
        return lat

    def _py_spy(self, pid: int, out: Path, settle: float = 1.0) -> subprocess.Popen[bytes]:
        spy = subprocess.Popen(
            [
                *(self.args.py_spy, "record", "--pid", str(pid), "--format", "raw", "--rate", "200"),
                *("--nonblocking", "--output", str(out)),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(settle)
        return spy


class BenchMosquitto:
    """The tests' throwaway Mosquitto, bench config: 1,000 in flight, 1M queued, no persistence."""

    def __init__(self, base: Any) -> None:
        class _Server(base):  # type: ignore[misc]
            def _config(self) -> str:
                text: str = super()._config()
                text = text.replace("max_queued_messages 0", "max_queued_messages 1000000")
                text = text.replace("max_inflight_messages 0", "max_inflight_messages 1000")
                return text.replace("persistence true", "persistence false") + "max_queued_bytes 0\n"

        self.server = _Server()
        self.port: int = self.server.port

    def __enter__(self) -> BenchMosquitto:
        self.server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.__exit__(None, None, None)

    def log_tail_all(self) -> str:
        """The whole broker log (connection messages name the client ids)."""
        path: Path = self.server.log_path
        return path.read_text(errors="replace")


class Publisher:
    """Handle on a ready publisher process."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc

    def go(self) -> float:
        """Start publishing; returns the wall time just before (the publisher reports the exact t0)."""
        assert self.proc.stdin is not None  # noqa: S101
        started = time.time()
        self.proc.stdin.write(b"go\n")
        self.proc.stdin.flush()
        return started

    def finish(self) -> dict[str, Any]:
        """Wait until every message is acknowledged by the broker; the publisher's timings."""
        assert self.proc.stdout is not None  # noqa: S101
        line = self.proc.stdout.readline()
        self.proc.wait(30)
        timings: dict[str, Any] = json.loads(line)
        return timings


# --------------------------------------------------------------------------------------------------
# Profile summary (py-spy raw = collapsed stacks)
# --------------------------------------------------------------------------------------------------
def summarize_profile(path: Path, top: int = 12) -> list[str]:
    """Top functions by own samples and by inclusive samples, as Markdown lines."""
    own: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if not stack:
            continue
        count = int(n)
        frames = [
            f.split(" (")[0] + " (" + f.split(" (")[1].split(":")[0].rsplit("/", 1)[-1] + ")"
            if " (" in f
            else f
            for f in stack.split(";")
        ]
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            incl[frame] += count
    if not total:
        return ["(no samples)"]
    lines = [f"{total:,} samples of busy threads (py-spy, 200 Hz, idle excluded).", ""]
    lines += ["| own time | function |", "| ---: | --- |"]
    lines += [f"| {100 * c / total:.1f} % | `{f}` |" for f, c in own.most_common(top)]
    lines += ["", "| inclusive | function |", "| ---: | --- |"]
    boring = ("Thread.run ", "Thread._bootstrap", "Thread._bootstrap_inner")
    frequent = [(f, c) for f, c in incl.most_common() if not f.startswith(boring)][: top + 14]
    lines += [f"| {100 * c / total:.1f} % | `{f}` |" for f, c in frequent]
    return lines


# --------------------------------------------------------------------------------------------------
def fmt_ratio(value: float, ref: float) -> str:
    return f"{value / ref:.2f}" if ref else "-"


def run(args: argparse.Namespace) -> None:  # noqa: PLR0912, PLR0915 - the benchmark, step by step
    started = time.monotonic()
    results: dict[str, Result] = {}
    drained: dict[str, list[Drained]] = {}
    modes = {m.strip() for m in args.modes.split(",") if m.strip()}
    if not modes or modes - {"live", "drain"}:
        raise SystemExit(f"--modes takes live and/or drain, not {args.modes!r}")

    def record(name: str, rate: float, rss: float | None, cpu: float | None = None, note: str = "") -> None:
        res = results.setdefault(name, Result(name))
        res.rates.append(rate)
        if rss is not None:
            res.rss_mb.append(rss)
        if cpu is not None:
            res.cpu_s.append(cpu)
        if note:
            res.notes.append(note)

    baseline = Path(args.baseline_tree).resolve() if args.baseline_tree else None
    batches = [int(b) for b in args.batch_sizes.split(",")]
    drain_batches = [int(b) for b in args.drain_batch_sizes.split(",")]
    best_batch = batches[0]
    profile_lines: list[str] = []
    profile_title = ""
    with contextlib.ExitStack() as stack:
        bench = Bench(args, stack)
        if not args.skip_node_red:
            bench.install_node_red()
        nr_flows = {
            "Node-RED influxdb out": "flow-out.json",
            "Node-RED join + influxdb batch": "flow-batch.json",
        }
        live_repeats = args.repeats if "live" in modes else 0
        for rep in range(live_repeats):
            log(f"live stream: repeat {rep + 1} of {args.repeats}")
            rate, rss, cpu = bench.mosquitto_sub()
            record("mosquitto_sub (limit)", rate, rss, cpu)
            for writers in (1, 2):
                record(
                    f"InfluxDB /write, 5,000-line batches, {writers} conn. (limit)",
                    bench.influx_limit(writers),
                    None,
                )
            if not args.skip_node_red:
                for name, flow in nr_flows.items():
                    rate, rss, cpu, note = bench.throughput(name, partial(bench.start_node_red, flow=flow))
                    record(name, rate, rss, cpu, note)
            for batch in batches:
                name = f"collector x1, batch {batch}"
                rate, rss, cpu, note = bench.throughput(name, partial(bench.start_collectors, batch=batch))
                record(name, rate, rss, cpu, note)
            if baseline is not None:
                name = f"{BASELINE} x1, batch {batches[0]}"
                launch = partial(bench.start_collectors, batch=batches[0], tree=baseline)
                record(name, *bench.throughput(name, launch))
        if live_repeats:
            best_batch = max(batches, key=lambda b: results[f"collector x1, batch {b}"].rate)
            log(f"best batch size for one collector: {best_batch}")
        two = f"collector x2 (shared subscription), batch {best_batch}"
        shared_runs = [] if args.skip_shared else [(two, REPO)]
        if baseline is not None and not args.skip_shared:
            shared_runs.append((f"{BASELINE} x2 (shared subscription), batch {best_batch}", baseline))
        for rep in range(live_repeats):
            for name, tree in shared_runs:
                log(f"{name}, repeat {rep + 1} of {args.repeats}")
                launch = partial(bench.start_collectors, batch=best_batch, count=2, tree=tree)
                record(name, *bench.throughput(name, launch))

        if live_repeats and not args.skip_latency:
            pace = (
                f"{args.latency_rate:,.0f} msg/s" if args.latency_rate else "50 % of each one's median rate"
            )
            log(f"latency runs (paced at {pace})")
            latency_runs: list[tuple[str, Callable[[str], Contender]]] = []
            if not args.skip_node_red:
                for name, flow in nr_flows.items():
                    latency_runs.append((name, partial(bench.start_node_red, flow=flow)))
            for batch in batches:
                latency_runs.append(
                    (f"collector x1, batch {batch}", partial(bench.start_collectors, batch=batch))
                )
            if not args.skip_shared:
                latency_runs.append((two, partial(bench.start_collectors, batch=best_batch, count=2)))
            if baseline is not None:
                name = f"{BASELINE} x1, batch {batches[0]}"
                latency_runs.append((name, partial(bench.start_collectors, batch=batches[0], tree=baseline)))
            for name, start in latency_runs:
                rate = args.latency_rate or results[name].rate / 2
                results[name].latencies_ms = bench.latency(name, start, rate)

        drain_runs: list[tuple[str, Callable[[str], Contender]]] = []
        if not args.skip_node_red:
            node_red = partial(bench.start_node_red, flow="flow-batch.json", persistent=True)
            drain_runs.append(("Node-RED join + influxdb batch", node_red))
        for batch in drain_batches:
            drain_runs.append((f"collector x1, batch {batch}", partial(bench.start_collectors, batch=batch)))
        if baseline is not None:
            launch = partial(bench.start_collectors, batch=drain_batches[0], tree=baseline)
            drain_runs.append((f"{BASELINE} x1, batch {drain_batches[0]}", launch))
        for rep in range(args.repeats if "drain" in modes else 0):
            log(f"backlog drain of {bench.n_drain:,} queued messages: repeat {rep + 1} of {args.repeats}")
            drained.setdefault("mosquitto_sub (limit)", []).append(bench.drain_mosquitto_sub())
            for name, start in drain_runs:
                drained.setdefault(name, []).append(bench.drain(name, start))

        if args.py_spy:
            raw = bench.tmp / "profile.txt"
            if "drain" in modes:
                spied = DEFAULT_BATCH if DEFAULT_BATCH in drain_batches else drain_batches[0]
                profile_title = f"one collector, batch {spied}, draining a backlog"
                log(f"profiling {profile_title} with py-spy")
                start = partial(bench.start_collectors, batch=spied)
                bench.drain(f"collector x1, batch {spied} (under py-spy)", start, profile=raw)
            else:
                profile_title = f"one collector, batch {best_batch}, during a full-speed live run"
                log(f"profiling {profile_title} with py-spy")
                bench.throughput(
                    f"collector x1, batch {best_batch} (under py-spy)",
                    partial(bench.start_collectors, batch=best_batch),
                    profile=raw,
                )
            profile_lines = summarize_profile(raw)
            if args.profile_out:
                shutil.copy(raw, args.profile_out)

    elapsed = time.monotonic() - started
    report = render(args, results, drained, best_batch, (profile_title, profile_lines), elapsed)
    print(report)
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report)
    log(f"wrote {out} ({elapsed / 60:.1f} min)")


def _median_drain(runs: list[Drained]) -> Drained:
    """The run with the median from-connect rate (its other figures with it)."""
    ordered = sorted(runs, key=lambda d: d.rate_from_connect)
    return ordered[(len(ordered) - 1) // 2] if len(ordered) % 2 == 0 else ordered[len(ordered) // 2]


def render(  # noqa: PLR0917 - one report from everything measured
    args: argparse.Namespace,
    results: dict[str, Result],
    drained: dict[str, list[Drained]],
    best: int,
    profile: tuple[str, list[str]],
    elapsed: float,
) -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    load = Path("/proc/loadavg").read_text().split()[:3]
    lines = [
        "# Ingest benchmark (issue 4)",
        "",
        f"- command: `{' '.join([Path(sys.executable).name, *sys.argv])}`",
        f"- date: {datetime.now(UTC).strftime('%a %b %d %H:%M:%S UTC %Y')}; {elapsed / 60:.1f} min; "
        f"load average at the end {', '.join(load)} (1, 5, 15 min)",
        f"- machine: {os.cpu_count()} CPUs ({cpu}), Linux {platform.release()}, Python "
        f"{platform.python_version()}, {_version(['mosquitto', '-h'])}, {_version(['influxd', 'version'])}, "
        f"node {_version(['node', '--version'])}, {node_red_spec()}, {NODE_RED_INFLUX}",
        "- Mosquitto with max_inflight_messages 1000, max_queued_messages 1,000,000, max_queued_bytes 0 "
        "(unlimited), no persistence (the broker is not restarted); every contender runs once per repeat, "
        f"in turn; medians of {args.repeats} runs.",
    ]
    if results:
        lines += render_live(args, results, best)
    if drained:
        lines += render_drain(args, drained)
    title, profile_lines = profile
    if profile_lines:
        lines += ["", f"## Profile: {title}", "", *profile_lines]
    return "\n".join(lines) + "\n"


def render_live(args: argparse.Namespace, results: dict[str, Result], best: int) -> list[str]:
    """The live-stream table: publisher, broker and consumer running at once."""
    sub = results["mosquitto_sub (limit)"].rate
    pace = f"{args.latency_rate:,.0f} msg/s" if args.latency_rate else "50 % of the contender's median rate"
    node_red = max((r.rate for n, r in results.items() if n.startswith("Node-RED")), default=0.0)
    lines = [
        "",
        "## Live stream: publisher, broker and consumer at once",
        "",
        f"- load: {args.messages:,} native JSON messages (one power_kw reading each, 33 seeded electricity "
        "meters, distinct timestamps), QoS 1, published by a separate raw-socket MQTT 3.1.1 process with "
        f"a {WINDOW:,}-message window as fast as the broker acks, while the contender is connected.",
        '- readings/s = N / (first publish -> N queryable via `SELECT count("value")`), polled every 100 ms; '
        "mosquitto_sub: N / (first publish -> N received, `-C N`). Bounded by the slowest of publisher, "
        "broker and consumer, which share the machine's cores.",
        f"- latency: paced run at {pace}, {MARKERS} markers on an extra meter "
        "over 10 s, InfluxDB polled every 10 ms; one run.",
        "- peak RSS: VmHWM of the contender process (the node process for Node-RED; the larger of the two "
        "collectors).",
        "",
        "| contender | readings/s (median) | ratio to mosquitto_sub | ratio to Node-RED "
        "| p50 / p99 latency (ms) | peak RSS (MB) |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, res in results.items():
        p50, p99 = res.percentile(50), res.percentile(99)
        latency = f"{p50:.0f} / {p99:.0f}" if p50 is not None and p99 is not None else "-"
        rss = f"{res.rss:.0f}" if res.rss is not None else "-"
        runs = ", ".join(f"{r:,.0f}" for r in res.rates)
        note = f" ({len(res.notes)} of {len(res.rates)} runs: {res.notes[0]}, ...)" if res.notes else ""
        lines.append(
            f"| {name} | {res.rate:,.0f} ({runs}){note} | {fmt_ratio(res.rate, sub)} "
            f"| {fmt_ratio(res.rate, node_red)} | {latency} | {rss} |"
        )
    lines += [
        "",
        "CPU time of the contender's processes (user + system, median run) and the cores that means:",
        "",
        "| contender | CPU s per 100k readings | CPU cores busy during the run |",
        "| --- | ---: | ---: |",
    ]
    for name, res in results.items():
        if res.cpu_s:
            used = statistics.median(res.cpu_s)
            per_100k = used * 100_000 / args.messages
            lines.append(f"| {name} | {per_100k:.1f} | {used * res.rate / args.messages:.2f} |")
    judged = DEFAULT_BATCH if f"collector x1, batch {DEFAULT_BATCH}" in results else best
    default = results[f"collector x1, batch {judged}"]
    lines += [
        "",
        f"Best batch size for one collector: {best}. Targets for one collector (live stream, batch "
        f"{judged}{' (default)' if judged == DEFAULT_BATCH else ''}): >= 50 % of mosquitto_sub "
        f"({'met' if default.rate >= 0.5 * sub else 'missed'}: {default.rate / sub:.0%}), >= 3x Node-RED "
        f"({'met' if node_red and default.rate >= 3 * node_red else 'missed'}: "
        f"{fmt_ratio(default.rate, node_red)}x), "
        f"RSS < 200 MB ({'met' if (default.rss or 0) < 200 else 'missed'}: {default.rss or 0:.0f} MB).",
        "",
        "Not like for like: Node-RED's MQTT node acknowledges each QoS 1 message on receipt, before the "
        "InfluxDB write (a failed write is lost), and writes only a `device` tag; the collector acknowledges "
        "after the write (or spool), validates every reading against the asset register and writes the "
        "asset tags. A stalled run's rate counts the readings stored up to the last increase. Node-RED 5 "
        "needs Node.js >= 22.9, so with an older node the script installs the last 4.x.",
    ]
    return lines


def render_drain(args: argparse.Namespace, drained: dict[str, list[Drained]]) -> list[str]:
    """The backlog-drain table: the consumer alone against a full queue."""
    medians = {name: _median_drain(runs) for name, runs in drained.items()}
    sub = medians["mosquitto_sub (limit)"].rate_from_connect
    node_red = next((d.rate_from_connect for n, d in medians.items() if n.startswith("Node-RED")), 0.0)
    lines = [
        "",
        "## Backlog drain: the consumer alone against a full queue",
        "",
        f"- load: the same kind of stream, {args.drain_messages:,} messages, published at QoS 1 into the "
        "contender's persistent session (stable client id, clean start off) while it is stopped: it "
        "connected once (the warm-up reading proves the pipeline), stopped, the publisher ran to the last "
        "PUBACK, then the contender was started again. Nothing else runs during the drain but the broker "
        "sending its queue and InfluxDB.",
        "- from start = contender process start -> last reading queryable (mosquitto_sub: last message "
        "received, it exits at `-C N`); from connect = the broker logging its connect (polled every 5 ms) "
        "-> the same end, start-up (imports, Node-RED's runtime) excluded. InfluxDB polled every 100 ms, "
        "every 20 ms from 90 %.",
        "- Node-RED: the batching flow with its broker node at `cleansession: false` and `autoUnsubscribe: "
        "false` (fixed client id); collector: `CITYHALL_MQTT_PROTOCOL` 5 (default), session expiry 7 days.",
        "- ratios and the target are judged on the from-connect rate, the consumer's own capacity; the "
        "from-start figures are given too.",
        "",
        "| contender | readings/s from connect, median (runs) | / mosquitto_sub | / Node-RED "
        "| readings/s from start | connect after (s) | peak RSS (MB) | CPU µs a reading, draining "
        "| cores busy: contender / broker + InfluxDB / machine |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, runs in drained.items():
        med = medians[name]
        rates = ", ".join(f"{d.rate_from_connect:,.0f}" for d in runs)
        notes = [d.note for d in runs if d.note]
        note = f" ({len(notes)} of {len(runs)} runs: {notes[0]}, ...)" if notes else ""
        lines.append(
            f"| {name} | {med.rate_from_connect:,.0f} ({rates}){note} "
            f"| {fmt_ratio(med.rate_from_connect, sub)} | {fmt_ratio(med.rate_from_connect, node_red)} "
            f"| {med.rate_from_start:,.0f} | {med.from_start_s - med.from_connect_s:.2f} | {med.rss_mb:.0f} "
            f"| {med.drain_cpu.per_reading_us(med.readings):.1f} | {med.drain_cpu.cores()} |"
        )
    judged = f"collector x1, batch {DEFAULT_BATCH}"
    if judged not in medians:
        judged = next((n for n in medians if n.startswith("collector x1")), "")
    if judged:
        one = medians[judged]
        verdict = "met" if node_red and one.rate_from_connect >= 3 * node_red else "missed"
        start_ratio = fmt_ratio(
            one.rate_from_start,
            next((d.rate_from_start for n, d in medians.items() if n.startswith("Node-RED")), 0.0),
        )
        lines += [
            "",
            f"Targets for one collector (backlog drain, from connect, {judged.removeprefix('collector x1, ')}"
            f"{' (default)' if judged.endswith(f' {DEFAULT_BATCH}') else ''}): >= 50 % of mosquitto_sub "
            f"({'met' if one.rate_from_connect >= 0.5 * sub else 'missed'}: "
            f"{one.rate_from_connect / sub:.0%}), >= 3x Node-RED ({verdict}: "
            f"{fmt_ratio(one.rate_from_connect, node_red)}x; from start: {start_ratio}x), "
            f"RSS < 200 MB ({'met' if one.rss_mb < 200 else 'missed'}: {one.rss_mb:.0f} MB).",
            "",
            "Figures other than the rates are those of the median run (by rate from connect). CPU µs a "
            "reading: the contender's processes from its connect to the end, start-up excluded (for "
            "mosquitto_sub to its last sample, 2 ms before it exits). Cores busy over the same interval: the "
            "contender; Mosquitto plus InfluxDB; the whole machine from /proc/stat, which includes whatever "
            "else the shared machine was running: when it shows ~2.0, the drain was bounded by CPU the "
            "benchmark did not get.",
        ]
    return lines


def _version(command: list[str]) -> str:
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=10, check=False)
    except OSError:
        return f"{command[0]} ?"
    text = (out.stdout or out.stderr).strip().splitlines()
    return text[0].strip() if text else f"{command[0]} ?"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command")
    pub = sub.add_parser("_publish", help="internal: the publisher process")
    pub.add_argument("--port", type=int, required=True)
    pub.add_argument("--stream", type=Path, required=True)
    pub.add_argument("--rate", type=float, default=0.0)
    pub.add_argument("--client-id", default=f"bench-pub-{os.getpid()}")
    parser.add_argument("--messages", type=int, default=100_000, help="stream length N")
    parser.add_argument("--repeats", type=int, default=3, help="runs per contender (median reported)")
    parser.add_argument(
        "--modes",
        default="live,drain",
        help="live (the stream published while the contender runs) and/or drain (a queued backlog)",
    )
    parser.add_argument("--drain-messages", type=int, default=200_000, help="backlog length in drain mode")
    parser.add_argument(
        "--drain-batch-sizes", default="500", help="CITYHALL_COLLECTOR_BATCH_SIZE values in drain mode"
    )
    parser.add_argument("--batch-sizes", default="500,2000,5000", help="CITYHALL_COLLECTOR_BATCH_SIZE values")
    parser.add_argument("--skip-node-red", action="store_true")
    parser.add_argument("--skip-shared", action="store_true", help="no two-collector runs")
    parser.add_argument("--skip-latency", action="store_true", help="no paced latency runs")
    parser.add_argument(
        "--latency-rate",
        type=float,
        default=0.0,
        help="pace every latency run at this many messages/s (default: half the contender's median rate)",
    )
    parser.add_argument(
        "--baseline-tree",
        help="a source tree holding an older collector/ and cityhall/ (e.g. `git archive HEAD collector "
        "cityhall | tar -x -C DIR`): run it as one more contender, old against new in the same run",
    )
    parser.add_argument("--node-red-dir", help="reuse an npm prefix holding node-red and the influxdb nodes")
    parser.add_argument(
        "--py-spy",
        default=shutil.which("py-spy"),
        help="py-spy binary: profile one collector (draining a backlog when drain is among the modes)",
    )
    parser.add_argument("--profile-out", help="also keep py-spy's raw collapsed stacks here")
    parser.add_argument("--output", default=str(REPO / "bench" / "results" / "ingest.md"))
    args = parser.parse_args()
    if args.command == "_publish":
        publish_main(args.port, args.stream, args.rate, args.client_id)
        return
    run(args)


if __name__ == "__main__":
    main()
