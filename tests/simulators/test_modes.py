"""The three modes against real services: fast and live into Mosquitto, backfill into SQL and InfluxDB."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import create_engine
from typer.testing import CliRunner

from cityhall.cli import app
from cityhall.contract import decode_native
from cityhall.migrate import upgrade
from cityhall.settings import Settings, get_settings
from cityhall.timeseries.influx import InfluxStore
from cityhall.timeseries.sql import SqlStore
from simulators.modes import (
    Encoder,
    fast_publisher,
    live_runner,
    run_backfill,
    run_fast,
    run_live,
    write_truth,
)
from tests import servers
from tests.simulators.conftest import plan_of
from tests.waiting import PATIENCE_S, wait_for

SMALL = """\
name: small
seed: 5
start: 2026-07-13T18:00:00+08:00
duration: {duration}
step: 15m
buildings: [MZ-DORM]
faults:
  - {{kind: meter_offline, device: MZ-DORM-EM-MAIN, start: 30m, end: 1h}}
"""


class Collected:
    """Every message a paho subscriber receives on cityhall/#."""

    def __init__(self, broker: servers.MosquittoServer) -> None:
        self.messages: list[mqtt.MQTTMessage] = []
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"test-sub-{time.monotonic_ns()}")
        self.client.on_connect = lambda c, *_: c.subscribe("cityhall/#", qos=1)
        self.client.on_subscribe = lambda *_: self._ready.set()
        self.client.on_message = self._on_message
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        assert self._ready.wait(PATIENCE_S)

    def _on_message(self, _client: mqtt.Client, _userdata: object, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append(message)

    def wait_for(self, count: int) -> list[mqtt.MQTTMessage]:
        """Wait for `count` messages; then a moment for any that should not come (absence can only be seen
        by waiting: a slow machine may hide an extra message from this check, never fail a good run)."""
        wait_for(lambda: len(self.messages) >= count, what=f"{count} messages")
        time.sleep(0.2)
        return list(self.messages)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def collected(mosquitto: servers.MosquittoServer) -> Iterator[Collected]:
    sub = Collected(mosquitto)
    yield sub
    sub.close()


def broker_settings(broker: servers.MosquittoServer) -> Settings:
    return Settings(mqtt_host=broker.host, mqtt_port=broker.port, mqtt_protocol="3.1.1")


@pytest.mark.parametrize("qos", [0, 1])
def test_fast_mode_publishes_every_reading_with_explicit_times(
    mosquitto: servers.MosquittoServer,
    collected: Collected,
    write_scenario: Callable[[str], Path],
    qos: int,
) -> None:
    plan = plan_of(write_scenario(SMALL.format(duration="2h")))
    expected = len(plan.devices) * 8 - 2  # eight instants; the main meter is offline for two
    publisher = fast_publisher(broker_settings(mosquitto), qos=qos, max_inflight=50)
    try:
        stats = run_fast(plan, publisher, prefix="cityhall/v1", show_progress=False)
    finally:
        publisher.close()
    assert stats.messages == expected
    if qos == 1:
        assert publisher.acked == expected
    messages = collected.wait_for(expected)
    assert len(messages) == expected
    readings = [r for m in messages for r in decode_native(bytes(m.payload))]
    main_times = sorted({r.ts for r in readings if r.device == "MZ-DORM-EM-MAIN"})
    start = datetime(2026, 7, 13, 10, tzinfo=UTC)
    gap = {start + timedelta(minutes=30), start + timedelta(minutes=45)}
    grid = [start + timedelta(minutes=15 * k) for k in range(8)]
    assert main_times == [ts for ts in grid if ts not in gap]


def test_live_mode_follows_the_wall_clock_times_speed(
    mosquitto: servers.MosquittoServer, collected: Collected, write_scenario: Callable[[str], Path]
) -> None:
    plan = plan_of(write_scenario(SMALL.format(duration="1h15m").split("faults:")[0]))
    live = live_runner(broker_settings(mosquitto), plan, speed=4500)  # a 15-minute step every 0.2 s
    began = time.monotonic()
    stats = run_live(live, plan, show_progress=False)
    took = time.monotonic() - began
    assert stats.instants == 5
    assert took > 0.7  # paced: four waits of 0.2 s, not as fast as possible (no upper bound: load slows it)
    messages = collected.wait_for(stats.messages)
    assert len(messages) == stats.messages == 5 * len(plan.devices)


def test_backfill_writes_history_to_the_sql_store(db_url: str, write_scenario: Callable[[str], Path]) -> None:
    engine = create_engine(db_url)
    upgrade(engine)
    store = SqlStore(engine)
    plan = plan_of(write_scenario(SMALL.format(duration="1d")))
    stats = run_backfill(plan, store, batch_readings=500, show_progress=False)
    window = store.window(quantity="energy_kwh", since=plan.start, until=plan.end)
    assert len(window["MZ-DORM-EM-MAIN"]) == 96 - 2
    values = [v for _, v in window["MZ-DORM-EM-MAIN"]]
    assert values == sorted(values)
    assert stats.messages == 96 * len(plan.devices) - 2
    assert stats.readings > 2 * stats.messages  # most devices report several quantities
    store.close()


def test_backfill_writes_history_to_influxdb(
    influx: servers.InfluxServer, write_scenario: Callable[[str], Path]
) -> None:
    influx.create_database("simulate_backfill")
    store = InfluxStore(influx.url, "simulate_backfill")
    plan = plan_of(write_scenario(SMALL.format(duration="6h")))
    run_backfill(plan, store, show_progress=False)
    window = store.window(quantity="power_kw", since=plan.start, until=plan.end, devices=["MZ-DORM-EM-MAIN"])
    assert len(window["MZ-DORM-EM-MAIN"]) == 24 - 2
    store.close()


def test_truth_file_is_json_lines_in_utc(tmp_path: Path, write_scenario: Callable[[str], Path]) -> None:
    plan = plan_of(write_scenario(SMALL.format(duration="2h")))
    path = write_truth(plan, tmp_path, "run1")
    assert path.name == "small-run1.truth.jsonl"
    (record,) = [json.loads(line) for line in path.read_text().splitlines()]
    assert record["kind"] == "meter_offline"
    assert (record["start"], record["end"]) == ("2026-07-13T10:30:00Z", "2026-07-13T11:00:00Z")


def test_cli_fast_mode_against_mosquitto(
    mosquitto: servers.MosquittoServer,
    collected: Collected,
    write_scenario: Callable[[str], Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from cityhall.assets import seed_path  # noqa: PLC0415

    monkeypatch.setenv("CITYHALL_MQTT_HOST", mosquitto.host)
    monkeypatch.setenv("CITYHALL_MQTT_PORT", str(mosquitto.port))
    get_settings.cache_clear()
    scenario = write_scenario(SMALL.format(duration="1h"))
    args = ["simulate", "--scenario", str(scenario), "--mode", "fast", "--register", str(seed_path())]
    result = CliRunner().invoke(app, [*args, "--out-dir", str(tmp_path), "--no-progress"])
    get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "small: 87 devices, 1 faults; truth" in result.output
    assert "published 346 messages" in result.output  # 4 instants of 87 devices, main meter offline twice
    assert len(collected.wait_for(346)) == 346
    assert len(list(tmp_path.glob("small-*.truth.jsonl"))) == 1


def test_cli_refuses_a_bad_scenario_before_publishing(
    write_scenario: Callable[[str], Path], tmp_path: Path
) -> None:
    from cityhall.assets import seed_path  # noqa: PLC0415

    scenario = write_scenario(SMALL.format(duration="30m").replace("MZ-DORM-EM-MAIN", "MZ-DORM-EM-NONE"))
    args = ["simulate", "--scenario", str(scenario), "--mode", "fast", "--register", str(seed_path())]
    out_dir = tmp_path / "truth"
    result = CliRunner().invoke(app, [*args, "--out-dir", str(out_dir)])
    get_settings.cache_clear()  # the command cached this process's settings: later CLI tests need their own
    assert result.exit_code == 1
    assert "line 8, faults[0].device: unknown device 'MZ-DORM-EM-NONE'" in result.output
    assert not out_dir.exists()  # no truth file: nothing ran


# Everything that thins, stamps or repeats messages: periodic and on-change reporting with heartbeats, doors
# opened between steps, night water draws, a hung sensor, an outage, a planned swap.
REALISTIC = """\
name: realistic-small
seed: 6
start: 2026-07-13T17:00:00+08:00
duration: 2h
step: 1m
buildings: [MZ-DORM]
reporting: {heartbeat_s: 600, by_kind: {climate_sensor: {interval_s: 300, resolution: {temperature_c: 0.1}}}}
realism: {climate: {}, dormitory: {}, contacts: {openings_per_h: 20}}
faults:
  - {kind: hung_device, device: MZ-DORM-2F-CS-201, start: 30m, end: 1h30m}
  - {kind: meter_offline, device: MZ-DORM-EM-MAIN, start: 20m, end: 40m}
  - {kind: meter_swap, device: MZ-DORM-WM-MAIN, start: 1h, end: 1h10m}
"""


def _reference(path: Path) -> Counter[tuple[str, bytes]]:
    """What the pure simulation sends: (topic, payload) with their counts (a hung device repeats one)."""
    plan = plan_of(path)
    encoder = Encoder(plan.formats, "cityhall/v1")
    return Counter(
        (topic.decode(), payload)
        for tick in plan.simulation().ticks(plan.end)
        for topic, payload in encoder.messages(tick)
    )


def _received(messages: list[mqtt.MQTTMessage]) -> Counter[tuple[str, bytes]]:
    return Counter((m.topic, bytes(m.payload)) for m in messages)


def test_fast_mode_sends_exactly_what_the_simulation_reports(
    mosquitto: servers.MosquittoServer, collected: Collected, write_scenario: Callable[[str], Path]
) -> None:
    path = write_scenario(REALISTIC)
    expected = _reference(path)
    assert sum(expected.values()) < 120 * len(plan_of(path).devices) / 2  # thinned: not every step
    publisher = fast_publisher(broker_settings(mosquitto), qos=1, max_inflight=100)
    try:
        stats = run_fast(plan_of(path), publisher, prefix="cityhall/v1", show_progress=False)
    finally:
        publisher.close()
    assert stats.messages == sum(expected.values())
    assert _received(collected.wait_for(stats.messages)) == expected


def test_live_mode_sends_exactly_what_the_simulation_reports(
    mosquitto: servers.MosquittoServer, collected: Collected, write_scenario: Callable[[str], Path]
) -> None:
    path = write_scenario(REALISTIC)
    expected = _reference(path)
    plan = plan_of(path)
    stats = run_live(live_runner(broker_settings(mosquitto), plan, speed=6000), plan, show_progress=False)
    assert stats.messages == sum(expected.values())
    assert _received(collected.wait_for(stats.messages)) == expected


def test_backfill_stores_exactly_what_the_simulation_reports(
    db_url: str, write_scenario: Callable[[str], Path]
) -> None:
    path = write_scenario(REALISTIC)
    expected = {
        (r.device, r.quantity, r.ts, r.value)
        for _, payload in _reference(path)
        for r in decode_native(payload)
    }
    engine = create_engine(db_url)
    upgrade(engine)
    store = SqlStore(engine)
    plan = plan_of(path)
    run_backfill(plan, store, batch_readings=500, show_progress=False)
    stored = {
        (code, quantity, ts, value)
        for quantity in {q for _, q, _, _ in expected}
        for code, points in store.window(quantity=quantity, since=plan.start, until=plan.end).items()
        for ts, value in points
    }
    store.close()
    assert stored == expected
