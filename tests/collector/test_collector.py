"""The collector against a real Mosquitto: bad input becomes dead letters, and an outage loses nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from cityhall.assets import import_assets, load_yaml, seed_path
from cityhall.contract import encode_native, readings_topic
from cityhall.db import Base, make_engine, make_sessionmaker, transaction
from cityhall.models import DeadLetter, ReadingRow
from cityhall.settings import Settings
from cityhall.timeseries.influx import InfluxStore
from cityhall.timeseries.sql import SqlStore
from collector.service import Collector
from tests import servers
from tests.e2e.e2e_helpers import publish_series, wait_for

METER = "MZ-DORM-EM-MAIN"


@pytest.fixture
def factory(db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(db_url)
    Base.metadata.create_all(engine)
    sessions = make_sessionmaker(engine)
    with transaction(sessions) as session:
        import_assets(session, load_yaml(seed_path()), actor="test")
    yield sessions
    engine.dispose()


def _settings(broker: servers.MosquittoServer, client_id: str) -> Settings:
    return Settings(mqtt_host=broker.host, mqtt_port=broker.port, mqtt_client_id=client_id)


def _publish_raw(broker: servers.MosquittoServer, messages: list[tuple[str, bytes]]) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="test-raw")
    client.connect(broker.host, broker.port)
    client.loop_start()
    infos = [client.publish(topic, payload, qos=1) for topic, payload in messages]
    for info in infos:
        info.wait_for_publish(timeout=10)
    client.disconnect()
    client.loop_stop()


def test_bad_payloads_are_dead_lettered_and_ingestion_continues(
    mosquitto: servers.MosquittoServer, factory: sessionmaker[Session]
) -> None:
    settings = _settings(mosquitto, f"test-collector-{id(factory)}")
    store = SqlStore(factory.kw["bind"])
    collector = Collector(settings, store=store, session_factory=factory)
    collector.start()
    assert collector.wait_connected(10)
    try:
        prefix = settings.mqtt_topic_prefix
        ts = datetime.now(UTC) - timedelta(minutes=1)
        bad = [
            (readings_topic(prefix, METER), b"{not json"),
            (readings_topic(prefix, "NO-SUCH-METER"), encode_native("NO-SUCH-METER", ts, {"power_kw": 1.0})),
            (readings_topic(prefix, METER), encode_native(METER, ts, {"temperature_c": 21.0})),
            (readings_topic(prefix, "YH-A-EM-MAIN"), encode_native(METER, ts, {"power_kw": 1.0})),
            (readings_topic(prefix, METER), encode_native(METER, ts, {"power_kw": 1e9})),
        ]
        good = [
            (
                readings_topic(prefix, METER),
                encode_native(METER, ts + timedelta(seconds=i), {"power_kw": 40.0 + i}),
            )
            for i in range(20)
        ]
        _publish_raw(mosquitto, bad[:3] + good[:10] + bad[3:] + good[10:])

        def counts() -> tuple[int, int] | None:
            with factory() as session:
                readings = session.scalar(select(func.count()).select_from(ReadingRow)) or 0
                letters = session.scalar(select(func.count()).select_from(DeadLetter)) or 0
            return (readings, letters) if (readings, letters) == (20, 5) else None

        wait_for(counts, timeout=20, what="20 readings and 5 dead letters")
        with factory() as session:
            reasons = sorted(session.scalars(select(DeadLetter.reason)))
        assert reasons[0].startswith("device: payload names 'MZ-DORM-EM-MAIN' but topic names 'YH-A-EM-MAIN'")
        assert reasons[1] == "device: unknown device 'NO-SUCH-METER' (register it in the asset register)"
        assert reasons[2].startswith("payload: Invalid JSON")
        assert reasons[3] == f"values.temperature_c: device '{METER}' does not measure temperature_c"
        assert reasons[4].startswith("values: Value error, power_kw=1000000000.0 kW is outside")
    finally:
        collector.stop()


def test_influx_outage_loses_nothing(
    mosquitto: servers.MosquittoServer, factory: sessionmaker[Session]
) -> None:
    with servers.InfluxServer() as influx:
        influx.create_database("outage")
        store = InfluxStore(influx.url, "outage", timeout_s=2)
        collector = Collector(
            _settings(mosquitto, f"test-outage-{id(factory)}"), store=store, session_factory=factory
        )
        collector.start()
        assert collector.wait_connected(10)
        try:
            start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
            points = [(start + timedelta(seconds=i), {"power_kw": float(i)}) for i in range(300)]
            publish_series(mosquitto.host, mosquitto.port, "cityhall/v1", METER, points[:100])
            influx.stop()  # InfluxDB goes away mid-stream
            publish_series(mosquitto.host, mosquitto.port, "cityhall/v1", METER, points[100:200])
            assert collector.health()["broker"]
            influx.start()
            publish_series(mosquitto.host, mosquitto.port, "cityhall/v1", METER, points[200:])

            def count() -> int | None:
                series = store.query('SELECT count("value") FROM "power_kw"')
                n = int(series[0]["values"][0][1]) if series else 0
                return n if n == 300 else None

            wait_for(count, timeout=60, what="all 300 readings after InfluxDB came back")
            values = store.query('SELECT "value" FROM "power_kw"')[0]["values"]
            assert [v for _, v in values] == [float(i) for i in range(300)]  # each once, in time order
        finally:
            collector.stop()
            store.close()
