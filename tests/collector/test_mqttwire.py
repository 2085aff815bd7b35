"""The collector's MQTT client: the packet parser against hand-built bytes, then against a real Mosquitto
(and the demo's embedded amqtt broker): delivery, acknowledgement, redelivery, keepalive, credentials."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator

import pytest
import structlog

from cityhall.broker import EmbeddedBroker
from collector.mqttwire import (
    Message,
    MqttSubscriber,
    Options,
    PacketReader,
    ProtocolError,
    connect_packet,
    decode_varint,
    encode_varint,
    parse_properties,
    puback_packets,
    subscribe_packet,
)
from collector.service import receive_maximum
from tests import servers
from tests.waiting import PATIENCE_S, wait_for

TOPIC = "cityhall/v1/readings/MZ-DORM-EM-MAIN"


def publish_bytes(
    topic: str, payload: bytes, *, packet_id: int = 0, qos: int = 1, dup: bool = False, props: bytes = b""
) -> bytes:
    """A PUBLISH packet written out by hand (props: an MQTT 5 property block, length included)."""
    raw_topic = topic.encode()
    body = len(raw_topic).to_bytes(2, "big") + raw_topic
    if qos:
        body += packet_id.to_bytes(2, "big")
    body += props + payload
    first = 0x30 | qos << 1 | (0x08 if dup else 0)
    return bytes([first]) + encode_varint(len(body)) + body


def payload_for_remaining_length(length: int, *, topic: str = TOPIC, qos: int = 1) -> bytes:
    """A payload that makes a PUBLISH's remaining length exactly `length`."""
    return b"x" * (length - 2 - len(topic.encode()) - 2 * qos)


# --- encoding ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        (0, b"\x00"),
        (127, b"\x7f"),
        (128, b"\x80\x01"),
        (16_383, b"\xff\x7f"),
        (16_384, b"\x80\x80\x01"),
        (2_097_151, b"\xff\xff\x7f"),
        (2_097_152, b"\x80\x80\x80\x01"),
        (268_435_455, b"\xff\xff\xff\x7f"),
    ],
)
def test_varint_edges(value: int, encoded: bytes) -> None:
    assert encode_varint(value) == encoded
    assert decode_varint(b"\xaa" + encoded + b"\xbb", 1) == (value, 1 + len(encoded))
    assert decode_varint(encoded[:-1], 0)[0] == -1  # one byte short: incomplete, not an error


def test_varint_limits() -> None:
    with pytest.raises(ValueError, match="does not fit"):
        encode_varint(268_435_456)
    with pytest.raises(ProtocolError, match="longer than four bytes"):
        decode_varint(b"\xff\xff\xff\xff\x01", 0)


def test_connect_packets() -> None:
    v311 = Options("h", 1, "cid", ("t",), protocol="3.1.1", username="u", password="p", keepalive_s=30)
    assert connect_packet(v311) == (
        b"\x10\x15\x00\x04MQTT\x04\xc0\x00\x1e" + b"\x00\x03cid" + b"\x00\x01u" + b"\x00\x01p"
    )  # level 4, username + password, clean session off
    v5 = Options("h", 1, "cid", ("t",), keepalive_s=30, session_expiry_s=3600, receive_maximum=1000)
    props = b"\x08" + b"\x11\x00\x00\x0e\x10" + b"\x21\x03\xe8"  # session expiry 3600 s, receive max 1000
    assert connect_packet(v5) == b"\x10\x18\x00\x04MQTT\x05\x00\x00\x1e" + props + b"\x00\x03cid"


def test_subscribe_and_puback_packets() -> None:
    assert subscribe_packet(1, ["a/+", "$share/g/b"], v5=False) == (
        b"\x82\x15\x00\x01" + b"\x00\x03a/+\x01" + b"\x00\x0a$share/g/b\x01"
    )
    assert subscribe_packet(7, ["a"], v5=True) == b"\x82\x07\x00\x07\x00\x00\x01a\x01"
    assert puback_packets([1, 258, 65535]) == b"\x40\x02\x00\x01\x40\x02\x01\x02\x40\x02\xff\xff"


def test_parse_properties() -> None:
    block = b"\x0f" + b"\x13\x00\x3c" + b"\x1f\x00\x02ok" + b"\x26\x00\x01k\x00\x01v"
    assert parse_properties(block) == {0x13: 60, 0x1F: "ok"}
    with pytest.raises(ProtocolError):
        parse_properties(b"\x05\x13\x00")


# --- the reader -------------------------------------------------------------------------------------
@pytest.mark.parametrize("remaining", [127, 128, 16_383, 16_384])
@pytest.mark.parametrize("v5", [False, True])
def test_remaining_length_edges_split_anywhere(remaining: int, *, v5: bool) -> None:
    """A packet whose remaining length is at a varint boundary, fed whole, then split inside the fixed
    header, inside the remaining length, inside the topic and inside the payload."""
    extra = 1 if v5 else 0  # the (empty) property block
    payload = payload_for_remaining_length(remaining - extra)
    data = publish_bytes(TOPIC, payload, packet_id=513, props=b"\x00" if v5 else b"")
    assert data[1:].startswith(encode_varint(remaining))
    expected = [Message(3 << 16 | 513, 1, TOPIC, payload, False)]
    for cut in sorted({0, 1, 2, 3, 4, 10, len(data) // 2, len(data) - 1, len(data)}):
        reader = PacketReader(v5=v5, generation=3)
        assert reader.feed(data[:cut]) + reader.feed(data[cut:]) == expected, cut


def test_byte_by_byte_stream_of_many_packets() -> None:
    packets = [publish_bytes(TOPIC, b'{"n":%d}' % i, packet_id=i + 1) for i in range(50)]
    stream = b"".join(packets) + b"\xd0\x00"  # and a PINGRESP
    reader = PacketReader(v5=False, generation=1)
    got: list[Message] = []
    for i in range(len(stream)):
        got += reader.feed(stream[i : i + 1])
    assert [m.payload for m in got] == [b'{"n":%d}' % i for i in range(50)]
    assert [m.mid & 0xFFFF for m in got] == list(range(1, 51))
    assert reader.controls == [(0xD0, b"")]


def test_many_packets_in_one_read_with_a_partial_tail() -> None:
    whole = b"".join(publish_bytes(TOPIC, b"p%d" % i, packet_id=i + 1) for i in range(1000))
    tail = publish_bytes(TOPIC, b"last", packet_id=1001)
    reader = PacketReader(v5=False)
    assert len(reader.feed(whole + tail[:7])) == 1000
    assert reader.feed(tail[7:]) == [Message(1001, 1, TOPIC, b"last", False)]


def test_qos0_qos1_and_dup() -> None:
    reader = PacketReader(v5=False, generation=2)
    data = (
        publish_bytes("a/b", b"zero", qos=0)
        + publish_bytes("a/b", b"one", packet_id=9)
        + publish_bytes("a/b", b"again", packet_id=9, dup=True)
    )
    assert reader.feed(data) == [
        Message(0, 0, "a/b", b"zero", False),
        Message(2 << 16 | 9, 1, "a/b", b"one", False),
        Message(2 << 16 | 9, 1, "a/b", b"again", True),
    ]


def test_v5_properties_are_skipped() -> None:
    props = b"\x0a" + b"\x01\x01" + b"\x26\x00\x01k\x00\x02vv"  # payload format + a user property
    data = publish_bytes("a", b"body", packet_id=5, props=props) + publish_bytes(
        "a", b"q0", qos=0, props=b"\x00"
    )
    assert PacketReader(v5=True).feed(data) == [
        Message(5, 1, "a", b"body", False),
        Message(0, 0, "a", b"q0", False),
    ]


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"\x34\x05\x00\x01a\x00\x01", "QoS 2"),
        (b"\x32\x03\x00\x09a", "past the packet"),
        (b"\x30\x01\x00", "shorter than its topic length"),
        (b"\x32\x05\x00\x01\xff\x00\x01", "not UTF-8"),
    ],
)
def test_malformed_publish(data: bytes, match: str) -> None:
    with pytest.raises(ProtocolError, match=match):
        PacketReader(v5=False).feed(data)


# --- against real brokers ---------------------------------------------------------------------------
class Inbox:
    """Collects what a subscriber delivers."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self._lock = threading.Lock()

    def __call__(self, messages: list[Message]) -> None:
        with self._lock:
            self.messages.extend(messages)

    def wait(self, count: int) -> list[Message]:
        """Wait for `count` messages; then a moment for any that should not come (absence can only be seen
        by waiting: a slow machine may hide an extra message from this check, never fail a good run)."""
        wait_for(lambda: len(self.messages) >= count or None, what=f"{count} messages")
        time.sleep(0.2)
        return list(self.messages)


def _publish(broker: servers.MosquittoServer, topic: str, payload: bytes, qos: int = 1) -> None:
    """One message through mosquitto_pub (a publisher that is not ours)."""
    command = ["mosquitto_pub", "-h", broker.host, "-p", str(broker.port), "-q", str(qos), "-t", topic]
    subprocess.run([*command, "-s"] if payload else [*command, "-n"], input=payload, check=True)


@pytest.fixture
def own_broker() -> Iterator[servers.MosquittoServer]:
    """A Mosquitto of this test's own (it may be restarted)."""
    with servers.MosquittoServer() as broker:
        yield broker


def _subscriber(
    broker: servers.MosquittoServer,
    client_id: str,
    inbox: Inbox,
    *,
    protocol: str = "5",
    keepalive_s: int = 30,
    username: str = "",
    password: str = "",
    receive_maximum: int = 1000,
) -> MqttSubscriber:
    """A started subscriber to wire/#, connected."""
    options = Options(
        broker.host,
        broker.port,
        client_id,
        ("wire/#",),
        protocol=protocol,
        keepalive_s=keepalive_s,
        username=username,
        password=password,
        receive_maximum=receive_maximum,
        min_backoff_s=0.2,
    )
    sub = MqttSubscriber(options, on_messages=inbox)
    sub.start()
    assert sub.connected.wait(PATIENCE_S)
    return sub


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
def test_sizes_qos_and_redelivery_through_mosquitto(
    mosquitto: servers.MosquittoServer, protocol: str
) -> None:
    """Payloads at the remaining-length boundaries arrive intact; what is not acked comes again with DUP
    after a reconnect, what is acked does not."""
    client_id = f"wire-{protocol}"
    inbox = Inbox()
    sub = _subscriber(mosquitto, client_id, inbox, protocol=protocol)
    sizes = [0, 100, 127 - 16, 128 - 16, 16_383 - 16, 16_384 - 16, 300_000]
    try:
        for i, size in enumerate(sizes):
            _publish(mosquitto, "wire/a", bytes([65 + i]) * size, qos=i % 2)
        got = inbox.wait(len(sizes))
        assert [len(m.payload) for m in got] == sizes
        assert [m.qos for m in got] == [i % 2 for i in range(len(sizes))]
        assert sub.ack(got[:3]) == 1  # only the QoS 1 message among the first three
    finally:
        sub.stop()
    again = Inbox()
    sub = _subscriber(mosquitto, client_id, again, protocol=protocol)
    try:
        redelivered = again.wait(2)
        assert [len(m.payload) for m in redelivered] == [s for i, s in enumerate(sizes[3:], 3) if i % 2]
        assert all(m.dup for m in redelivered)
        sub.ack(redelivered)
    finally:
        sub.stop()


def test_receive_maximum_bounds_what_is_in_flight(own_broker: servers.MosquittoServer) -> None:
    """The broker stops at the MQTT 5 receive maximum until messages are acknowledged (the collector asks for
    two batches: collector.service.receive_maximum)."""
    assert (receive_maximum(500), receive_maximum(5000), receive_maximum(50_000)) == (1000, 10_000, 65_535)
    inbox = Inbox()
    sub = _subscriber(own_broker, "wire-window", inbox, receive_maximum=50)
    try:
        lines = b"".join(b"m%d\n" % i for i in range(120))
        command = ["mosquitto_pub", "-h", own_broker.host, "-p", str(own_broker.port), "-q", "1"]
        subprocess.run([*command, "-t", "wire/w", "-l"], input=lines, check=True)
        first = inbox.wait(50)
        assert len(first) == 50  # the broker stops at the window...
        sub.ack(first)
        # ...and goes on once it is acknowledged. Mosquitto 2.0.11 then sends all the rest at once instead of
        # keeping to 50 in flight; paho's client sees the same, so the window bounds only the first burst.
        everything = inbox.wait(120)
        assert [m.payload for m in everything] == [b"m%d" % i for i in range(120)]
        assert sub.ack(everything[50:]) == 70
    finally:
        sub.stop()


def test_reading_pauses_while_the_consumer_is_full(own_broker: servers.MosquittoServer) -> None:
    """`can_read` False: the socket is not read, so the broker's backlog stays with the broker (TCP flow
    control) however large it is, and arrives in full once reading resumes."""
    inbox = Inbox()
    room = threading.Event()
    room.set()
    options = Options(own_broker.host, own_broker.port, "wire-pause", ("wire/#",), receive_maximum=5000)
    sub = MqttSubscriber(
        options, on_messages=inbox, can_read=lambda: room.is_set() and len(inbox.messages) < 100
    )
    sub.start()
    assert sub.connected.wait(PATIENCE_S)
    try:
        lines = b"".join(b"%04d" % i + b"x" * 1000 + b"\n" for i in range(2000))  # ~64 per 64 KiB read
        command = ["mosquitto_pub", "-h", own_broker.host, "-p", str(own_broker.port), "-q", "1"]
        subprocess.run([*command, "-t", "wire/p", "-l"], input=lines, check=True)
        wait_for(lambda: len(inbox.messages) >= 100 or None, what="the consumer to fill up")
        time.sleep(1.5)  # reading has stopped: nothing more comes, however long the pause
        held = len(inbox.messages)
        assert 100 <= held < 300  # the limit, plus what the last read before it brought
        assert sub.connected.is_set()
        inbox.messages.clear()  # the consumer caught up (a pause of 1.5 s is no reason to drop the link)
        wait_for(lambda: len(inbox.messages) >= 100 or None, what="reading to resume")
        room.clear()
        sub.ack(inbox.messages)
    finally:
        sub.stop()


def test_keepalive_and_reconnect_after_broker_restart(own_broker: servers.MosquittoServer) -> None:
    inbox = Inbox()
    sub = _subscriber(own_broker, "wire-keepalive", inbox, keepalive_s=1)
    try:
        time.sleep(3.5)  # Mosquitto drops a client silent for 1.5 keepalives; PINGREQs keep us in
        assert sub.generation == 1
        assert sub.connected.is_set()
        own_broker.restart()
        wait_for(lambda: (sub.generation == 2 and sub.connected.is_set()) or None, what="reconnect")
        _publish(own_broker, "wire/x", b"after restart")
        (msg,) = inbox.wait(1)
        assert msg.mid >> 16 == 2
        assert sub.ack([msg]) == 1
    finally:
        sub.stop()


def test_ack_of_an_older_connection_is_not_sent(own_broker: servers.MosquittoServer) -> None:
    """After a reconnect an old packet id may name another message: it is never acknowledged."""
    inbox = Inbox()
    sub = _subscriber(own_broker, "wire-generations", inbox)
    try:
        _publish(own_broker, "wire/x", b"first")
        (first,) = inbox.wait(1)
        own_broker.restart()
        wait_for(lambda: (sub.generation == 2 and sub.connected.is_set()) or None, what="reconnect")
        assert sub.ack([first]) == 0
        (_, again) = inbox.wait(2)  # the broker resends it on the new connection
        assert again.payload == b"first"
        assert again.dup
        assert sub.ack([again]) == 1
    finally:
        sub.stop()


class PasswordMosquitto(servers.MosquittoServer):
    """Mosquitto that requires a user name and password."""

    def _config(self) -> str:
        password_file = self.directory / "passwd"
        subprocess.run(
            ["mosquitto_passwd", "-b", "-c", str(password_file), "collector", "s3cret"], check=True
        )
        return (
            super()
            ._config()
            .replace("allow_anonymous true", f"allow_anonymous false\npassword_file {password_file}")
        )


def test_username_and_password() -> None:
    with PasswordMosquitto() as broker:
        inbox = Inbox()
        sub = _subscriber(broker, "wire-login", inbox, username="collector", password="s3cret")
        sub.stop()
        refused = MqttSubscriber(
            Options(
                broker.host, broker.port, "wire-bad", ("wire/#",), username="collector", password="wrong"
            ),
            on_messages=inbox,
        )
        with structlog.testing.capture_logs() as logs:
            refused.start()
            try:
                wait_for(
                    lambda: any(e["event"] == "mqtt_connect_failed" for e in logs) or None,
                    what="the broker to refuse the wrong password",
                )
                assert not refused.connected.is_set()
            finally:
                refused.stop()
        failure = next(e for e in logs if e["event"] == "mqtt_connect_failed")
        assert failure["log_level"] == "error"  # refused credentials do not fix themselves


def test_embedded_amqtt_broker_of_the_demo() -> None:
    """The demo runs the collector against amqtt with MQTT 3.1.1."""
    broker = EmbeddedBroker()
    broker.start()
    try:
        inbox = Inbox()
        options = Options(broker.host, broker.port, "wire-amqtt", ("wire/#",), protocol="3.1.1")
        sub = MqttSubscriber(options, on_messages=inbox)
        sub.start()
        assert sub.connected.wait(PATIENCE_S)
        try:
            command = ["mosquitto_pub", "-h", broker.host, "-p", str(broker.port), "-V", "mqttv311"]
            subprocess.run([*command, "-q", "1", "-t", "wire/demo", "-m", "hello"], check=True)
            (msg,) = inbox.wait(1)
            assert (msg.topic, msg.payload, msg.qos) == ("wire/demo", b"hello", 1)
            assert sub.ack([msg]) == 1
        finally:
            sub.stop()
    finally:
        broker.stop()
