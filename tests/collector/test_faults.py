"""Issue 4's fault tests: real Mosquitto with persistence, real InfluxDB, the collector under stress.

Each stream carries distinct values, so "every reading once" is checked as an exact count and an exact
sum of what InfluxDB holds.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

from cityhall.assets import import_assets, load_yaml, seed_path
from cityhall.contract import encode_native, readings_topic
from cityhall.db import make_engine, make_sessionmaker, transaction
from cityhall.migrate import upgrade
from cityhall.models import DeadLetter, Device, DeviceKind
from cityhall.settings import Settings
from cityhall.timeseries.influx import InfluxStore
from collector.service import Collector
from tests import servers
from tests.collector.stream import Stream
from tests.waiting import PATIENCE_S, wait_for

pytestmark = pytest.mark.slow
PREFIX = "cityhall/v1"


@pytest.fixture(scope="module")
def seeded_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """A migrated, seeded SQLite file to copy per test, and the seeded electricity meters."""
    path = tmp_path_factory.mktemp("seed") / "cityhall.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    factory = make_sessionmaker(engine)
    with transaction(factory) as session:
        import_assets(session, load_yaml(seed_path()), actor="test")
        meters = list(session.scalars(select(Device.code).where(Device.kind == DeviceKind.ELECTRICITY_METER)))
    engine.dispose()
    return path, sorted(meters)[:50]


@dataclass
class Rig:
    """One test's own broker, InfluxDB, database and collector settings."""

    broker: servers.MosquittoServer
    influx: servers.InfluxServer
    store: InfluxStore
    settings: Settings
    database: Path
    meters: list[str]

    def messages(self, count: int) -> list[tuple[str, bytes]]:
        """`count` readings spread over the meters, one second apart per meter, in the past; reading i
        carries i mod 10,000 kW (inside the plausible range), so count and sum identify what was stored."""
        base = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=6)
        out = []
        for i in range(count):
            device = self.meters[i % len(self.meters)]
            ts = base + timedelta(seconds=i // len(self.meters))
            out.append(
                (readings_topic(PREFIX, device), encode_native(device, ts, {"power_kw": float(i % 10_000)}))
            )
        return out

    def stored(self) -> tuple[int, float]:
        """(count, sum) of the power readings in InfluxDB."""
        series = self.store.query('SELECT count("value"), sum("value") FROM "power_kw"')
        if not series:
            return 0, 0.0
        _, count, total = series[0]["values"][0]
        return int(count), float(total)

    def wait_all(self, count: int) -> None:
        """Wait until exactly readings 0..count-1 are stored, each once."""
        expected = (count, float(sum(i % 10_000 for i in range(count))))
        wait_for(lambda: self.stored() == expected, what=f"{count} readings stored once", interval=0.5)


@pytest.fixture
def rig(seeded_template: tuple[Path, list[str]], tmp_path: Path) -> Iterator[Rig]:
    template, meters = seeded_template
    database = tmp_path / "cityhall.db"
    shutil.copy(template, database)
    with servers.MosquittoServer() as broker, servers.InfluxServer() as influx:
        influx.create_database("faults")
        settings = Settings(
            database_url=f"sqlite:///{database}",
            data_dir=tmp_path / "data",
            mqtt_host=broker.host,
            mqtt_port=broker.port,
            mqtt_client_id="fault-collector",
            influx_url=influx.url,
            influx_database="faults",
            collector_store_timeout_seconds=2.0,
            jwt_secret=SecretStr("faults-" + "x" * 40),
        )
        store = InfluxStore(influx.url, "faults")
        yield Rig(broker, influx, store, settings, database, meters)
        store.close()


def _collector(rig: Rig) -> Collector:
    collector = Collector(
        rig.settings,
        store=InfluxStore.from_settings(rig.settings),
        session_factory=make_sessionmaker(make_engine(rig.settings.database_url)),
    )
    collector.start()
    assert collector.wait_connected(PATIENCE_S)
    return collector


def test_influx_down_30_s_mid_stream(rig: Rig) -> None:
    collector = _collector(rig)
    try:
        stream = Stream(
            rig.broker.host, rig.broker.port, rig.messages(50_000), rate_per_s=2500, client_id="pub-a"
        )
        stream.start()
        stream.wait_sent(10_000)
        rig.influx.stop()
        stopped_at = time.monotonic()
        wait_for(lambda: collector.spool.readings > 0, what="readings spooled while InfluxDB is down")
        assert collector.health()["store"]  # down for less than the 60 s setting: still healthy
        time.sleep(max(0.0, 30 - (time.monotonic() - stopped_at)))  # the outage itself: 30 s
        rig.influx.start()
        stream.wait_acked()
        rig.wait_all(50_000)
        wait_for(lambda: collector.spool.readings == 0, what="the spool to drain")
    finally:
        collector.stop()


def _broker_health(metrics_port: int) -> bool:
    """True once the collector process on `metrics_port` says it is subscribed to the broker."""
    try:
        health = httpx.get(f"http://127.0.0.1:{metrics_port}/health", timeout=PATIENCE_S)
    except httpx.TransportError:
        return False  # not serving yet
    return bool(health.json()["checks"]["broker"])


def test_collector_sigkill_mid_stream(rig: Rig) -> None:
    metrics_port = servers.free_port()
    env = {
        **os.environ,
        "CITYHALL_DATABASE_URL": rig.settings.database_url,
        "CITYHALL_DATA_DIR": str(rig.settings.data_dir),
        "CITYHALL_MQTT_HOST": rig.broker.host,
        "CITYHALL_MQTT_PORT": str(rig.broker.port),
        "CITYHALL_MQTT_CLIENT_ID": "fault-collector",
        "CITYHALL_INFLUX_URL": rig.influx.url,
        "CITYHALL_INFLUX_DATABASE": "faults",
        "CITYHALL_JWT_SECRET": rig.settings.jwt_secret.get_secret_value(),
        "CITYHALL_METRICS_PORT": str(metrics_port),
    }

    def spawn() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "cityhall", "collector"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    first = spawn()
    try:
        stream = Stream(
            rig.broker.host, rig.broker.port, rig.messages(20_000), rate_per_s=2500, client_id="pub-b"
        )
        # The collector subscribes (a persistent session) before the stream begins: its /health says when.
        wait_for(lambda: _broker_health(metrics_port), what="the collector process to subscribe")
        stream.start()
        stream.wait_sent(8_000)
        first.send_signal(signal.SIGKILL)
        first.wait(PATIENCE_S)
        stream.wait_sent(14_000)
        second = spawn()
        try:
            stream.wait_acked()
            rig.wait_all(20_000)
            health = httpx.get(f"http://127.0.0.1:{metrics_port}/health", timeout=PATIENCE_S)
            assert health.status_code == 200
            assert health.json()["checks"] == {"broker": True, "store": True, "spool": True}
            scrape = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=PATIENCE_S).text
            written = re.search(r"^cityhall_collector_readings_written_total (\S+)$", scrape, re.MULTILINE)
            assert written is not None
            assert float(written.group(1)) > 0
        finally:
            second.send_signal(signal.SIGTERM)
            assert second.wait(PATIENCE_S) == 0
    finally:
        if first.poll() is None:
            first.kill()


def test_broker_restart_mid_stream(rig: Rig) -> None:
    collector = _collector(rig)
    try:
        stream = Stream(
            rig.broker.host, rig.broker.port, rig.messages(20_000), rate_per_s=2500, client_id="pub-c"
        )
        stream.start()
        stream.wait_sent(8_000)
        rig.broker.restart()  # SIGTERM saves the persistent sessions and their queued QoS 1 messages
        stream.wait_acked()
        rig.wait_all(20_000)
    finally:
        collector.stop()


def test_ten_thousand_malformed_payloads(rig: Rig) -> None:
    collector = _collector(rig)
    try:
        good = rig.messages(20_000)
        bad = [(readings_topic(PREFIX, rig.meters[0]), b'{"device": broken %d' % i) for i in range(10_000)]
        mixed = [m for pair in zip(good[::2], good[1::2], bad, strict=True) for m in pair]
        stream = Stream(rig.broker.host, rig.broker.port, mixed, rate_per_s=5000, client_id="pub-d")
        stream.start()
        stream.wait_acked()
        rig.wait_all(20_000)
        sessions = make_sessionmaker(make_engine(rig.settings.database_url))

        def dead_letters() -> int | None:
            with sessions() as session:
                n = session.scalar(select(func.count()).select_from(DeadLetter)) or 0
            return n if n == 10_000 else None

        wait_for(dead_letters, what="10,000 dead letters", interval=0.5)
        with sessions() as session:
            reasons = set(session.scalars(select(DeadLetter.reason).limit(50)))
        assert all(r.startswith("payload: Invalid JSON") for r in reasons)
    finally:
        collector.stop()


def test_two_collectors_share_the_stream(rig: Rig) -> None:
    """Scale-out: a shared subscription splits the stream; each reading is stored exactly once."""
    shared = rig.settings.model_copy(update={"mqtt_share_group": "collectors"})
    collectors = []
    for name in ("a", "b"):
        settings = shared.model_copy(
            update={"mqtt_client_id": f"collector-{name}", "data_dir": rig.settings.data_dir / name}
        )
        collector = Collector(
            settings,
            store=InfluxStore.from_settings(settings),
            session_factory=make_sessionmaker(make_engine(settings.database_url)),
        )
        collector.start()
        assert collector.wait_connected(PATIENCE_S)
        collectors.append(collector)
    try:
        stream = Stream(
            rig.broker.host, rig.broker.port, rig.messages(20_000), rate_per_s=5000, client_id="pub-e"
        )
        stream.start()
        stream.wait_acked()
        rig.wait_all(20_000)
        received = [c.received for c in collectors]
        assert sum(received) == 20_000  # each message went to exactly one member of the group
        assert min(received) > 2_000  # and both took a real share
    finally:
        for collector in collectors:
            collector.stop()
