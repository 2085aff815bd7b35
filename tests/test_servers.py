"""The test harness itself: each throwaway service really stores and returns data."""

from __future__ import annotations

import queue
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import psycopg
import pytest
import sqlalchemy as sa
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from tests import servers
from tests.waiting import PATIENCE_S


class _MqttClient:
    """A paho-mqtt 2 client that hands connects, subacks and messages to the test thread."""

    def __init__(self, broker: servers.MosquittoServer, *, client_id: str = "", clean_session: bool = True):
        self.broker = broker
        self.messages: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self._connects: queue.Queue[tuple[bool, ReasonCode]] = queue.Queue()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=clean_session,
            protocol=mqtt.MQTTv311,
        )
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        self._connects.put((flags.session_present, reason_code))

    def _on_subscribe(
        self,
        client: mqtt.Client,
        userdata: Any,
        mid: int,
        reason_codes: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        self._subscribed.set()

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        self.messages.put(message)

    def connect(self) -> bool:
        """Connect and return the broker's session-present flag."""
        self.client.connect(self.broker.host, self.broker.port, keepalive=30)
        self.client.loop_start()
        session_present, reason_code = self._connects.get(timeout=PATIENCE_S)
        assert not reason_code.is_failure, reason_code
        return session_present

    def subscribe(self, topic: str, qos: int = 1) -> None:
        """Subscribe and wait for the SUBACK."""
        self._subscribed.clear()
        self.client.subscribe(topic, qos=qos)
        assert self._subscribed.wait(PATIENCE_S), "no SUBACK"

    def publish(self, topic: str, payload: bytes, qos: int = 1) -> None:
        """Publish and wait until the broker acknowledged it (PUBACK for QoS 1)."""
        info = self.client.publish(topic, payload, qos=qos)
        info.wait_for_publish(timeout=PATIENCE_S)
        assert info.is_published()

    def next_message(self) -> mqtt.MQTTMessage:
        """The next received message, waiting for it."""
        return self.messages.get(timeout=PATIENCE_S)

    def close(self) -> None:
        """Disconnect cleanly (the broker keeps a persistent session) and stop the network loop."""
        self.client.disconnect()
        self.client.loop_stop()


@contextmanager
def _mqtt_client(
    broker: servers.MosquittoServer, *, client_id: str = "", clean_session: bool = True
) -> Iterator[_MqttClient]:
    client = _MqttClient(broker, client_id=client_id, clean_session=clean_session)
    try:
        yield client
    finally:
        client.close()


def test_mosquitto_publish_subscribe_round_trip(mosquitto: servers.MosquittoServer) -> None:
    """A QoS 1 message published to the session broker reaches a subscriber unchanged."""
    topic = f"cityhall/test/{secrets.token_hex(4)}/power"
    payload = b'{"power_kw": 12.5}'
    with _mqtt_client(mosquitto) as subscriber, _mqtt_client(mosquitto) as publisher:
        subscriber.connect()
        subscriber.subscribe(topic)
        publisher.connect()
        publisher.publish(topic, payload)
        message = subscriber.next_message()
    assert (message.topic, message.payload, message.qos) == (topic, payload, 1)


def test_mosquitto_restart_keeps_qos1_messages_for_offline_persistent_session() -> None:
    """Messages queued for an offline clean_session=False client survive a graceful broker restart."""
    topic = "cityhall/test/persistent/meter-1"
    client_id = "cityhall-test-persistent-subscriber"
    payloads = [f"reading-{n}".encode() for n in range(3)]
    with servers.MosquittoServer() as broker:
        with _mqtt_client(broker, client_id=client_id, clean_session=False) as subscriber:
            assert subscriber.connect() is False  # a new session
            subscriber.subscribe(topic, qos=1)
        with _mqtt_client(broker) as publisher:
            publisher.connect()
            for payload in payloads:
                publisher.publish(topic, payload, qos=1)

        broker.restart()
        assert broker.persistence_file.stat().st_size > 0

        with _mqtt_client(broker, client_id=client_id, clean_session=False) as subscriber:
            assert subscriber.connect() is True  # the broker remembered the session
            received = [subscriber.next_message() for _ in payloads]
    assert [(m.topic, m.payload, m.qos) for m in received] == [(topic, p, 1) for p in payloads]


def _write_line(influx: servers.InfluxServer, db: str, line: str) -> None:
    response = httpx.post(
        f"{influx.url}/write", params={"db": db, "precision": "ns"}, content=line.encode(), timeout=PATIENCE_S
    )
    assert response.status_code == 204, response.text


def _epoch_ns(moment: datetime) -> int:
    return int(moment.timestamp()) * 1_000_000_000


def test_influx_write_line_protocol_then_query(influx: servers.InfluxServer) -> None:
    """A point written with line protocol comes back from InfluxQL with its tags, fields and time."""
    meter = f"meter-{secrets.token_hex(4)}"
    at = datetime(2024, 5, 1, 1, 2, 3, tzinfo=UTC)
    _write_line(
        influx,
        "cityhall",
        f"power,building=secretariat,meter={meter} power_kw=12.5,energy_kwh=3i {_epoch_ns(at) + 7}",
    )

    body = influx.query(
        "SELECT power_kw, energy_kwh, building FROM power WHERE meter = $meter",
        "cityhall",
        bind={"meter": meter},
    )

    [series] = body["results"][0]["series"]
    assert series["name"] == "power"
    assert series["columns"] == ["time", "power_kw", "energy_kwh", "building"]
    assert series["values"] == [["2024-05-01T01:02:03.000000007Z", 12.5, 3, "secretariat"]]


def test_influx_data_survives_restart_and_kill() -> None:
    """Acknowledged writes survive a graceful restart and a SIGKILL (the WAL is fsynced per write)."""
    at = datetime(2024, 5, 1, tzinfo=UTC)
    with servers.InfluxServer() as influx:
        influx.create_database("cityhall")
        port = influx.port
        _write_line(influx, "cityhall", f"water,meter=w1 volume_m3=1.5 {_epoch_ns(at)}")

        influx.restart()
        _write_line(influx, "cityhall", f"water,meter=w1 volume_m3=2.25 {_epoch_ns(at) + 60_000_000_000}")
        influx.kill()
        assert not influx.running
        influx.start()

        body = influx.query("SELECT volume_m3 FROM water", "cityhall")
        assert influx.port == port
    assert body["results"][0]["series"][0]["values"] == [
        ["2024-05-01T00:00:00Z", 1.5],
        ["2024-05-01T00:01:00Z", 2.25],
    ]


def test_postgres_fresh_database_is_usable_and_separate(postgres_url: str) -> None:
    """The session database takes DDL and data; another fresh database does not see them and drops cleanly."""
    session_db = sa.make_url(postgres_url).database
    other_url = servers.fresh_postgres_database("cityhall_test")
    other_db = sa.make_url(other_url).database
    try:
        engine = sa.create_engine(postgres_url)
        with engine.begin() as conn:
            assert conn.scalar(sa.text("SELECT current_database()")) == session_db
            conn.execute(sa.text("CREATE TABLE ticket (id serial PRIMARY KEY, title text NOT NULL)"))
            conn.execute(sa.text("INSERT INTO ticket (title) VALUES ('lift 2 stuck')"))
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT id, title FROM ticket")).all() == [(1, "lift 2 stuck")]
        engine.dispose()

        other = sa.create_engine(other_url)
        with other.connect() as conn:
            assert conn.scalar(sa.text("SELECT current_database()")) == other_db
            assert not sa.inspect(conn).has_table("ticket")
        other.dispose()
    finally:
        servers.drop_postgres_database(other_url)

    assert session_db not in {"postgres", "test"}
    with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres") as conn:
        names = {row[0] for row in conn.execute("SELECT datname FROM pg_database")}
    assert session_db in names
    assert other_db not in names


def test_db_url_gives_an_empty_working_database(db_url: str) -> None:
    """Each db_url parameter is an empty database that stores and returns rows."""
    engine = sa.create_engine(db_url)
    try:
        with engine.begin() as conn:
            assert sa.inspect(conn).get_table_names() == []
            conn.execute(sa.text("CREATE TABLE venue (name varchar(40) PRIMARY KEY, seats integer)"))
            conn.execute(sa.text("INSERT INTO venue VALUES ('Conference Room 1', 40)"))
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT name, seats FROM venue")).all() == [("Conference Room 1", 40)]
    finally:
        engine.dispose()


def test_require_service_fails_under_ci_and_skips_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    """A missing service is a failure under CI=true, never a skip."""
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="influxd is required in CI: not installed"):
        servers.require_service("influxd", "not installed")
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="influxd unavailable: not installed"):
        servers.require_service("influxd", "not installed")
