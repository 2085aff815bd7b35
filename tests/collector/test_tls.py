"""MQTT over TLS against a real Mosquitto with a throwaway CA: the collector's own client and the paho
clients (notifier, rules, simulators) built by cityhall.mqtt."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
import structlog
from pydantic import ValidationError

from cityhall.mqtt import connect, make_client
from cityhall.settings import Settings
from collector.mqttwire import MqttSubscriber
from collector.service import mqtt_options
from simulators.modes import fast_publisher
from simulators.wire import WireError
from tests import servers
from tests.collector.test_mqttwire import Inbox
from tests.waiting import PATIENCE_S, wait_for

TOPICS = ("tls/#",)


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> servers.TlsFiles:
    return servers.make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def tls_broker(tls_files: servers.TlsFiles) -> Iterator[servers.MosquittoServer]:
    with servers.MosquittoServer(tls=tls_files) as broker:
        yield broker


def _settings(broker: servers.MosquittoServer, ca: Path, client_id: str) -> Settings:
    return Settings(
        mqtt_host=broker.host,
        mqtt_port=broker.port,
        mqtt_tls=True,
        mqtt_tls_ca_file=str(ca),
        mqtt_client_id=client_id,
    )


def _subscriber(settings: Settings, inbox: Inbox) -> MqttSubscriber:
    sub = MqttSubscriber(mqtt_options(settings, settings.mqtt_client_id, TOPICS), on_messages=inbox)
    sub.start()
    assert sub.connected.wait(PATIENCE_S)
    return sub


def test_collector_and_paho_clients_over_tls(
    tls_broker: servers.MosquittoServer, tls_files: servers.TlsFiles
) -> None:
    """A 300 kB payload (19 TLS records) and a burst of 2,000 small ones (many packets a record) all arrive in
    order, and the client never waits on bytes the TLS layer holds back; what was acknowledged is not
    delivered again after a reconnect."""
    settings = _settings(tls_broker, tls_files.ca, "tls-collector")
    inbox = Inbox()
    sub = _subscriber(settings, inbox)
    publisher = make_client(settings, "tls-publisher")
    connect(publisher, settings)
    publisher.loop_start()
    try:
        wait_for(lambda: publisher.is_connected() or None, what="paho connected over TLS")
        payloads = [b"x" * 300_000] + [f"m{i}".encode() for i in range(2000)]
        infos = [publisher.publish("tls/a", p, qos=1) for p in payloads]
        for info in infos:
            info.wait_for_publish(timeout=PATIENCE_S)
            assert info.rc == mqtt.MQTT_ERR_SUCCESS
        got = inbox.wait(len(payloads))
        assert [m.payload for m in got] == payloads
        assert sub.ack(got) == len(payloads)
    finally:
        sub.stop()  # sends the queued PUBACKs before DISCONNECT
        publisher.disconnect()
        publisher.loop_stop()
    again = Inbox()
    sub = _subscriber(settings, again)
    try:
        assert again.wait(0) == []
    finally:
        sub.stop()


def test_a_broker_certificate_from_another_ca_is_refused_and_logged_as_an_error(
    tls_broker: servers.MosquittoServer, tmp_path: Path
) -> None:
    other = servers.make_tls_files(tmp_path / "other", common_name="Some other CA")
    settings = _settings(tls_broker, other.ca, "tls-wrong-ca")
    with structlog.testing.capture_logs() as logs:
        sub = MqttSubscriber(mqtt_options(settings, "tls-wrong-ca", TOPICS), on_messages=Inbox())
        sub.start()
        try:
            wait_for(
                lambda: any(e["event"] == "mqtt_connect_failed" for e in logs) or None,
                what="a failed connect",
            )
            assert not sub.connected.is_set()
        finally:
            sub.stop()
    failure = next(e for e in logs if e["event"] == "mqtt_connect_failed")
    assert failure["log_level"] == "error"
    assert "certificate verify failed" in failure["error"]


def test_a_ca_file_that_does_not_exist_is_named_in_the_error(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=r"mqtt_tls_ca_file\n.*no such file"):
        Settings(mqtt_tls=True, mqtt_tls_ca_file=str(tmp_path / "missing.pem"))


def test_the_fast_load_generator_says_it_speaks_plain_tcp_only(
    tls_broker: servers.MosquittoServer, tls_files: servers.TlsFiles
) -> None:
    with pytest.raises(WireError, match="plain TCP only"):
        fast_publisher(_settings(tls_broker, tls_files.ca, "tls-fast"), qos=1, max_inflight=10)
