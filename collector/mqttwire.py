"""The collector's own MQTT client: a lean QoS 1 subscriber that reads the socket in large chunks.

Why not paho-mqtt here: in the ingest benchmark (docs/benchmarks.md) paho's network thread took ~57 % of
the collector's time, reading each packet with a `select` and several one-byte `recv` calls, and parsing
MQTT 5 properties into objects for every PUBLISH. This client reads up to 64 KiB per `recv`, splits out
every PUBLISH in it with one loop over the bytes and hands them to the collector as one list; PUBACKs go out
in one socket write per written batch.

What it keeps from the paho path (docs/collector.md, "Guarantees"):
* a stable client id with a persistent session (MQTT 5: no clean start, a session expiry and a receive
  maximum; MQTT 3.1.1: clean session off, the broker's `max_inflight_messages` bounds the window);
* acknowledgement only when asked (`ack`), in the order received, for messages of the current connection
  only: after a reconnect the broker redelivers what was not acknowledged, so an old packet id is never
  acknowledged on a new connection where it might name another message;
* resubscription on every connect, keepalive PINGREQs, reconnect with exponential backoff.

Scope: subscribe-only, QoS 0/1 deliveries (the subscription asks for at most QoS 1, so the broker never sends
QoS 2), no topic aliases (we announce none, so the broker sends none), no TLS (no setting asks for it; all
socket I/O is in one thread, so `ssl.SSLContext.wrap_socket` could be added in `_open`).
"""

from __future__ import annotations

import contextlib
import select
import socket
import ssl
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import structlog

log = structlog.get_logger(__name__)

CONNECT = 0x10
CONNACK = 0x20
PUBLISH = 0x30
PUBACK = 0x40
SUBSCRIBE = 0x82  # the fixed header's flags must be 0b0010
SUBACK = 0x90
PINGREQ = b"\xc0\x00"
PINGRESP = 0xD0
DISCONNECT = 0xE0
MAX_REMAINING_LENGTH = 268_435_455  # four varint bytes
# Up to ~400 typical readings per recv. Not larger: a 256 KiB recv buffer is above glibc's mmap threshold, and
# allocating it cost 25 µs per read against 2 µs for 64 KiB (measured on a socket pair).
RECV_BYTES = 64 * 1024
# After a read that did not fill the buffer, let the next messages gather for this long before the next read.
# A steady stream otherwise wakes this thread for every packet or two, and each wake-up takes the GIL from the
# writer: at 20,000 paced messages/s that alone outran the collector (seconds of latency). At most this much
# latency is added; the kernel's socket buffer holds the messages meanwhile.
READ_PAUSE_S = 0.001
# The most a TLS socket returns from one recv: one record's plaintext.
TLS_RECORD_BYTES = 16 * 1024
# While the consumer has enough (can_read is False), look again this often (an ack wakes the thread sooner).
PAUSE_POLL_S = 0.005
_new_tuple = tuple.__new__
# The connection generation lives above the 16-bit packet id in Message.mid.
_ID_BITS = 16
_ID_MASK = 0xFFFF
_PUBACK_WORD = PUBACK << 24 | 2 << 16  # 0x40 0x02 <id high> <id low> as one big-endian word

# MQTT 5 property ids (spec 2.2.2.2) and how each one's value is encoded: skipping a property needs its size.
PROP_SESSION_EXPIRY = 0x11
PROP_RECEIVE_MAXIMUM = 0x21
PROP_SERVER_KEEP_ALIVE = 0x13
PROP_REASON_STRING = 0x1F
_PROP_BYTE = frozenset({0x01, 0x17, 0x19, 0x24, 0x25, 0x28, 0x29, 0x2A})
_PROP_TWO = frozenset({0x13, 0x21, 0x22, 0x23})
_PROP_FOUR = frozenset({0x02, 0x11, 0x18, 0x27})
_PROP_VARINT = frozenset({0x0B})
_PROP_STRING = frozenset({0x03, 0x08, 0x09, 0x12, 0x15, 0x16, 0x1A, 0x1C, 0x1F})
_PROP_PAIR = frozenset({0x26})

_CONNACK_REFUSED_311 = {
    1: "unacceptable protocol version",
    2: "client identifier rejected",
    3: "server unavailable",
    4: "bad user name or password",
    5: "not authorised",
}


class ProtocolError(ConnectionError):
    """The broker sent something this client cannot accept; the connection is dropped and reopened."""


class RefusedError(ConnectionError):
    """The broker answered CONNECT with a refusal (bad credentials, not authorised, ...)."""


class Message(NamedTuple):
    """One PUBLISH as received. `mid` is the delivery tag `ack` needs: the connection generation above the
    16-bit packet id (0 for QoS 0). A NamedTuple: built once per message, it is the cheapest record."""

    mid: int
    qos: int
    topic: str
    payload: bytes
    dup: bool = False


@dataclass(frozen=True, slots=True)
class Options:
    """Everything needed to open (and reopen) the session."""

    host: str
    port: int
    client_id: str
    topics: tuple[str, ...]
    protocol: str = "5"  # "5" or "3.1.1"
    username: str = ""
    password: str = ""
    persistent: bool = True
    keepalive_s: int = 30
    session_expiry_s: int = 7 * 24 * 3600
    receive_maximum: int = 1000
    tls: ssl.SSLContext | None = None  # None: plain TCP
    connect_timeout_s: float = 10.0
    min_backoff_s: float = 0.5
    max_backoff_s: float = 30.0

    @property
    def v5(self) -> bool:
        """True for MQTT 5, False for 3.1.1."""
        return self.protocol == "5"


# --------------------------------------------------------------------------------------------------
# Encoding
# --------------------------------------------------------------------------------------------------
def encode_varint(n: int) -> bytes:
    """The MQTT variable byte integer (remaining length, property length): 7 bits a byte, low first."""
    if not 0 <= n <= MAX_REMAINING_LENGTH:
        raise ValueError(f"{n} does not fit a variable byte integer")
    out = bytearray()
    while True:
        n, byte = divmod(n, 128)
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def encode_string(text: str | bytes) -> bytes:
    """A UTF-8 string or binary field: two-byte length, then the bytes."""
    raw = text.encode() if isinstance(text, str) else text
    return struct.pack("!H", len(raw)) + raw


def packet(first_byte: int, body: bytes) -> bytes:
    """A whole control packet: fixed header (type and flags, remaining length) and body."""
    return bytes([first_byte]) + encode_varint(len(body)) + body


def connect_packet(options: Options) -> bytes:
    """CONNECT: persistent or clean session, credentials, keepalive; MQTT 5 adds expiry and receive max."""
    flags = 0 if options.persistent else 0x02
    payload = encode_string(options.client_id)
    if options.username:
        flags |= 0x80
        payload += encode_string(options.username)
        if options.password:
            flags |= 0x40
            payload += encode_string(options.password)
    level = 5 if options.v5 else 4
    variable = encode_string("MQTT") + bytes([level, flags]) + struct.pack("!H", options.keepalive_s)
    if options.v5:
        expiry = options.session_expiry_s if options.persistent else 0
        props = struct.pack(
            "!BIBH", PROP_SESSION_EXPIRY, expiry, PROP_RECEIVE_MAXIMUM, options.receive_maximum
        )
        variable += encode_varint(len(props)) + props
    return packet(CONNECT, variable + payload)


def subscribe_packet(packet_id: int, topics: Sequence[str], *, v5: bool) -> bytes:
    """SUBSCRIBE to every topic filter at QoS 1 (MQTT 5: options byte 1, no properties)."""
    body = struct.pack("!H", packet_id) + (b"\x00" if v5 else b"")
    body += b"".join(encode_string(topic) + b"\x01" for topic in topics)
    return packet(SUBSCRIBE, body)


def puback_packets(packet_ids: Sequence[int]) -> bytes:
    """PUBACKs for the packet ids, in order, as one buffer (one socket write for a whole batch)."""
    return struct.pack(f"!{len(packet_ids)}I", *[_PUBACK_WORD | pid for pid in packet_ids])


def disconnect_packet() -> bytes:
    """DISCONNECT (MQTT 5: reason 0, normal; the session stays for its expiry interval)."""
    return bytes([DISCONNECT, 0])


# --------------------------------------------------------------------------------------------------
# Decoding
# --------------------------------------------------------------------------------------------------
def decode_varint(data: bytes, pos: int, end: int | None = None) -> tuple[int, int]:
    """(value, position after it) of a variable byte integer at `pos`; (-1, pos) if the bytes (or `end`)
    come first. Raises ProtocolError for a fifth byte (the spec allows four)."""
    limit = len(data) if end is None else end
    value = 0
    for k in range(4):
        if pos + k >= limit:
            return -1, pos
        byte = data[pos + k]
        value |= (byte & 0x7F) << (7 * k)
        if byte < 0x80:
            return value, pos + k + 1
    raise ProtocolError("variable byte integer longer than four bytes")


def skip_properties(data: bytes, pos: int, end: int) -> int:
    """Position after the MQTT 5 property block at `pos` (its varint length, then the properties), which
    must end by `end`."""
    if pos < end and data[pos] == 0:  # no properties: the usual case, one byte
        return pos + 1
    length, start = decode_varint(data, pos, end)
    if length < 0 or start + length > end:
        raise ProtocolError("property length beyond the packet")
    return start + length


def parse_properties(data: bytes) -> dict[int, object]:
    """An MQTT 5 property block (from its length varint) as {property id: value} (last one wins); only
    for the rare packets (CONNACK, SUBACK, DISCONNECT) whose properties matter."""
    length, pos = decode_varint(data, 0)
    end = pos + length
    if length < 0 or end > len(data):
        raise ProtocolError("property length beyond the packet")
    out: dict[int, object] = {}
    while pos < end:
        prop = data[pos]
        pos += 1
        value: object
        if prop in _PROP_BYTE:
            value, pos = data[pos], pos + 1
        elif prop in _PROP_TWO:
            value, pos = int.from_bytes(data[pos : pos + 2], "big"), pos + 2
        elif prop in _PROP_FOUR:
            value, pos = int.from_bytes(data[pos : pos + 4], "big"), pos + 4
        elif prop in _PROP_VARINT:
            value, pos = decode_varint(data, pos)
        elif prop in _PROP_STRING:
            size = int.from_bytes(data[pos : pos + 2], "big")
            value, pos = data[pos + 2 : pos + 2 + size].decode(errors="replace"), pos + 2 + size
        elif prop in _PROP_PAIR:
            for _ in range(2):
                pos += 2 + int.from_bytes(data[pos : pos + 2], "big")
            continue
        else:
            raise ProtocolError(f"unknown property 0x{prop:02x}")
        out[prop] = value
    if pos != end:
        raise ProtocolError("property block does not add up")
    return out


class PacketReader:
    """Splits the byte stream from the broker into packets, many per read; an incomplete packet at the end
    of a read is kept (without copying per read) until the bytes that complete it arrive.

    PUBLISH packets come back from `feed` as Messages tagged with `generation`; every other packet is kept
    in `controls` as (first byte, body) for the connection to handle.
    """

    def __init__(self, *, v5: bool, generation: int = 0) -> None:
        self.v5 = v5
        self.tag = generation << _ID_BITS
        self.controls: list[tuple[int, bytes]] = []
        self._parts: list[bytes] = []  # the incomplete tail, as read
        self._held = 0  # bytes in _parts
        self._need = 0  # bytes the tail must reach before another parse can make progress

    def feed(self, data: bytes) -> list[Message]:
        """Add bytes read from the socket; the complete PUBLISH packets among them, in order."""
        if self._parts:
            self._parts.append(data)
            self._held += len(data)
            if self._held < self._need:
                return []
            data = b"".join(self._parts)
            self._parts.clear()
        messages: list[Message] = []
        pos = self._parse(data, messages)
        if pos < len(data):
            tail = data[pos:]
            self._parts.append(tail)
            self._held = len(tail)
        return messages

    def _parse(self, data: bytes, out: list[Message]) -> int:
        """Parse whole packets from the start of `data`; returns where the first incomplete one begins."""
        pos, end = 0, len(data)
        while end - pos >= 2:
            first = data[pos]
            length = data[pos + 1]
            body = pos + 2
            if length >= 0x80:  # a remaining length of 128 or more takes 2-4 bytes
                length, body = decode_varint(data, pos + 1)
                if length < 0:
                    self._need = end - pos + 1
                    return pos
            stop = body + length
            if stop > end:
                self._need = stop - pos
                return pos
            if first & 0xF0 == PUBLISH:
                out.append(self._publish(first, data, body, stop))
            else:
                self.controls.append((first, data[body:stop]))
            pos = stop
        self._need = 2
        return pos

    def _publish(self, first: int, data: bytes, body: int, stop: int) -> Message:
        """One PUBLISH: topic, packet id (QoS 1), MQTT 5 properties skipped, payload."""
        qos = (first >> 1) & 3
        if qos > 1:
            raise ProtocolError(f"PUBLISH with QoS {qos}; the subscription asked for at most 1")
        if stop - body < 2:
            raise ProtocolError("PUBLISH shorter than its topic length")
        topic_end = body + 2 + (data[body] << 8 | data[body + 1])
        pos = topic_end + 2 * qos  # QoS 1: a two-byte packet id follows the topic
        if pos > stop:
            raise ProtocolError("PUBLISH topic runs past the packet")
        mid = self.tag | data[topic_end] << 8 | data[topic_end + 1] if qos else 0
        if self.v5:
            pos = skip_properties(data, pos, stop)
        try:
            topic = data[body + 2 : topic_end].decode()
        except UnicodeDecodeError as err:
            raise ProtocolError(f"PUBLISH topic is not UTF-8: {err}") from err
        # tuple.__new__ skips the NamedTuple's Python-level __new__: half the cost, once per message.
        return _new_tuple(Message, (mid, qos, topic, data[pos:stop], first & 0x08 != 0))


# --------------------------------------------------------------------------------------------------
# The connection
# --------------------------------------------------------------------------------------------------
class MqttSubscriber:
    """Subscribes with QoS 1 and keeps the session up; one thread does all socket I/O.

    `on_messages` is called in that thread with each read's messages (a list, in order); call `ack` from any
    thread once their data is kept. `on_connected` / `on_disconnected` report the session's state. While
    `can_read` says False the socket is not read: TCP flow control then holds the broker back. That bounds
    memory where the receive maximum does not (Mosquitto 2.0 sends its whole queue once acks begin).
    """

    def __init__(
        self,
        options: Options,
        *,
        on_messages: Callable[[list[Message]], None],
        on_connected: Callable[[], None] = lambda: None,
        on_disconnected: Callable[[str], None] = lambda _reason: None,
        can_read: Callable[[], bool] = lambda: True,
    ) -> None:
        self.options = options
        self._on_messages = on_messages
        self._on_connected = on_connected
        self._on_disconnected = on_disconnected
        self._can_read = can_read
        self.connected = threading.Event()
        self.generation = 0
        self.keepalive_s = options.keepalive_s  # the broker may impose its own (MQTT 5 server keep alive)
        self._reader = PacketReader(v5=options.v5)
        self._stopping = threading.Event()
        self._outgoing: deque[tuple[int, bytes]] = deque()  # (generation, bytes) for the I/O thread to send
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._thread = threading.Thread(target=self._run, name="mqtt-subscriber", daemon=True)
        self._last_sent = self._last_received = 0.0
        self._ping_sent = False

    # --- called from other threads ---
    def start(self) -> None:
        """Connect in the background (retrying with backoff until stopped)."""
        self._thread.start()

    def ack(self, messages: Sequence[Message]) -> int:
        """Queue PUBACKs for the QoS 1 messages of the current connection (older ones are redelivered by
        the broker anyway); sent in one write. Returns how many were queued."""
        generation = self.generation
        ids = [m.mid & _ID_MASK for m in messages if m.qos and m.mid >> _ID_BITS == generation]
        if ids:
            self._outgoing.append((generation, puback_packets(ids)))
            self._wake()
        return len(ids)

    def stop(self, timeout: float = 10.0) -> None:
        """Send what is queued, DISCONNECT (the persistent session stays), and end the thread."""
        self._stopping.set()
        self._wake()
        if self._thread.is_alive():
            self._thread.join(timeout)
        self._wake_r.close()
        self._wake_w.close()

    def _wake(self) -> None:
        # A full pipe means the thread is already due to wake; a closed one, that it stopped.
        with contextlib.suppress(OSError):
            self._wake_w.send(b"\x00")

    # --- the I/O thread ---
    def _run(self) -> None:
        """Connect, pump, and reconnect with exponential backoff until stopped."""
        backoff = self.options.min_backoff_s
        while not self._stopping.is_set():
            sock = self._try_open(backoff)
            if sock is None:
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, self.options.max_backoff_s)
                continue
            backoff = self.options.min_backoff_s
            self._on_disconnected(self._serve(sock))
            if not self._stopping.is_set():
                self._stopping.wait(backoff)

    def _try_open(self, backoff: float) -> socket.socket | None:
        """`_open`, or None (logged) when the broker is unreachable or refuses."""
        try:
            return self._open()
        except (OSError, ProtocolError) as err:  # RefusedError is a ConnectionError, an OSError
            # Refused credentials or a certificate that does not verify will not fix themselves: errors.
            level = log.error if isinstance(err, RefusedError | ssl.SSLCertVerificationError) else log.warning
            level("mqtt_connect_failed", error=str(err), retry_in_s=backoff)
        except Exception:  # the loop's edge: a bug must not end ingestion for good
            log.exception("mqtt_connect_crashed", retry_in_s=backoff)
        return None

    def _serve(self, sock: socket.socket) -> str:
        """Pump until stopped or the link fails; closes the socket and says why it ended."""
        reason = "stopped"
        try:
            self._pump(sock)
        except (OSError, ProtocolError) as err:
            reason = str(err) or type(err).__name__
        except Exception as err:  # the loop's edge, as above; what was not acknowledged is redelivered
            log.exception("mqtt_connection_crashed")
            reason = repr(err)
        finally:
            self._close(sock, graceful=self._stopping.is_set())
        return reason

    def _open(self) -> socket.socket:
        """TCP connect, CONNECT/CONNACK, SUBSCRIBE; returns the socket with the reader of a new generation."""
        opts = self.options
        self.keepalive_s = opts.keepalive_s
        sock = socket.create_connection((opts.host, opts.port), timeout=opts.connect_timeout_s)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if opts.tls is not None:  # handshake and certificate check now, within the connect timeout
                sock = opts.tls.wrap_socket(sock, server_hostname=opts.host)
            sock.sendall(connect_packet(opts))
            self.generation += 1
            self._reader = PacketReader(v5=opts.v5, generation=self.generation)
            _, body = self._read_control(sock, CONNACK)
            session_present = self._check_connack(body)
            sock.sendall(subscribe_packet(1, opts.topics, v5=opts.v5))
            _, body = self._read_control(sock, SUBACK)
            self._check_suback(body)
        except BaseException:
            sock.close()
            raise
        sock.settimeout(self.keepalive_s or None)  # a send blocked this long means the broker is gone
        self._last_sent = self._last_received = time.monotonic()
        self._ping_sent = False
        self.connected.set()
        log.info(
            "mqtt_connected",
            client_id=opts.client_id,
            protocol=opts.protocol,
            session_present=session_present,
            subscriptions=list(opts.topics),
        )
        self._on_connected()
        return sock

    def _read_control(self, sock: socket.socket, kind: int) -> tuple[int, bytes]:
        """Read until the broker's packet of `kind` (a PUBLISH of a resumed session may come first)."""
        deadline = time.monotonic() + self.options.connect_timeout_s
        reader = self._reader
        while True:
            for i, (first, body) in enumerate(reader.controls):
                if first & 0xF0 == kind:
                    del reader.controls[: i + 1]
                    return first, body
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data = sock.recv(RECV_BYTES)
            except TimeoutError as err:
                raise ProtocolError(f"no {kind >> 4:d}-type answer in time") from err
            if not data:
                raise ConnectionError("broker closed the connection")
            messages = reader.feed(data)
            if messages:
                self._on_messages(messages)

    def _check_connack(self, body: bytes) -> bool:
        """Raise unless the broker accepted; True if it resumed our session."""
        if len(body) < 2:
            raise ProtocolError("CONNACK too short")
        code = body[1]
        if code:
            if self.options.v5:
                props = parse_properties(body[2:]) if len(body) > 2 else {}
                reason = f"0x{code:02x} {props.get(PROP_REASON_STRING, '')}".strip()
                raise RefusedError(f"connection refused: reason {reason}")
            raise RefusedError(f"connection refused: {_CONNACK_REFUSED_311.get(code, f'code {code}')}")
        if self.options.v5 and len(body) > 2:
            keepalive = parse_properties(body[2:]).get(PROP_SERVER_KEEP_ALIVE)
            if isinstance(keepalive, int) and keepalive != self.keepalive_s:
                log.info("mqtt_server_keepalive", keepalive_s=keepalive)
                self.keepalive_s = keepalive  # the broker's value binds us
        return bool(body[0] & 0x01)

    def _check_suback(self, body: bytes) -> None:
        """Raise if any filter was refused (return code 0x80 and up)."""
        pos = 2
        if self.options.v5:
            pos = skip_properties(body, pos, len(body))
        codes = body[pos:]
        if len(codes) != len(self.options.topics):
            raise ProtocolError("SUBACK does not answer every filter")
        refused = [t for t, c in zip(self.options.topics, codes, strict=True) if c >= 0x80]
        if refused:
            raise RefusedError(f"subscription refused for {refused} (codes {codes.hex()})")

    def _pump(self, sock: socket.socket) -> None:
        """Read, deliver, send queued PUBACKs, keep alive; returns when stopping, raises if the link fails."""
        reader = self._reader
        wake = self._wake_r
        # A TLS read returns at most one record (16 KiB of plaintext): a shorter read means the stream paused.
        # Asking for more than a record also means the TLS layer never keeps decrypted bytes back, where
        # select could not see them (SSLSocket.pending() stays 0).
        full_read = TLS_RECORD_BYTES if isinstance(sock, ssl.SSLSocket) else RECV_BYTES
        while not self._stopping.is_set():
            reading = self._can_read()
            watched, timeout = ([sock, wake], self._until_keepalive()) if reading else ([wake], PAUSE_POLL_S)
            readable, _, _ = select.select(watched, [], [], timeout)
            if wake in readable:
                self._drain_wake()
            if not reading:
                # Silence we do not read says nothing about the link; PINGREQs still go out (answers wait).
                self._last_received = time.monotonic()
                self._ping_sent = False
            elif sock in readable:
                data = sock.recv(RECV_BYTES)
                if not data:
                    raise ConnectionError("broker closed the connection")
                self._last_received = time.monotonic()
                self._ping_sent = False
                messages = reader.feed(data)
                if messages:
                    self._on_messages(messages)
                if reader.controls:
                    self._handle_controls(reader)
                if len(data) < full_read:
                    self._send_queued(sock)
                    time.sleep(READ_PAUSE_S)
            self._send_queued(sock)
            self._keep_alive(sock)
        self._send_queued(sock)

    def _drain_wake(self) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except BlockingIOError:
            pass

    def _handle_controls(self, reader: PacketReader) -> None:
        """PINGRESP and stray SUBACKs are fine; a DISCONNECT from the broker ends the connection."""
        controls, reader.controls = reader.controls, []
        for first, body in controls:
            if first & 0xF0 == DISCONNECT:
                code = body[0] if body else 0
                props = parse_properties(body[1:]) if len(body) > 1 else {}
                raise ConnectionError(
                    f"broker disconnected us: reason 0x{code:02x} {props.get(PROP_REASON_STRING, '')}".strip()
                )

    def _send_queued(self, sock: socket.socket) -> None:
        """All queued PUBACKs of this connection in one write; those of an older connection are dropped."""
        outgoing = self._outgoing
        if not outgoing:
            return
        parts = []
        while outgoing:
            generation, data = outgoing.popleft()
            if generation == self.generation:
                parts.append(data)
        if parts:
            sock.sendall(b"".join(parts))
            self._last_sent = time.monotonic()

    def _until_keepalive(self) -> float | None:
        """Seconds until `_keep_alive` has something to do (None: keepalive off)."""
        half = self.keepalive_s / 2
        if not half:
            return None
        if self._ping_sent:
            due = self._last_received + 2 * half
        else:
            due = min(self._last_sent, self._last_received) + half
        return max(0.01, due - time.monotonic())

    def _keep_alive(self, sock: socket.socket) -> None:
        """PINGREQ after half the keepalive without sending or receiving; no answer within the keepalive
        means the link is lost (a half-open TCP connection never says so itself)."""
        keepalive = self.keepalive_s
        if not keepalive:
            return
        now = time.monotonic()
        if self._ping_sent:
            if now - self._last_received > keepalive:
                raise ConnectionError(f"no answer from the broker for {keepalive} s")
        elif now - min(self._last_sent, self._last_received) >= keepalive / 2:
            sock.sendall(PINGREQ)
            self._ping_sent = True
            self._last_sent = now

    def _close(self, sock: socket.socket, *, graceful: bool) -> None:
        """DISCONNECT if we are the ones leaving, then close; queued PUBACKs die with the connection."""
        self.connected.clear()
        if graceful:
            with contextlib.suppress(OSError):  # already gone: the broker keeps the session either way
                sock.sendall(disconnect_packet())
        sock.close()
