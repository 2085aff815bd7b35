"""A lean MQTT 3.1.1 publisher for fast mode: many PUBLISH packets per socket write, a bounded QoS 1 window.

Why not paho here: paho-mqtt 2.2 builds, locks and tracks every message on its own, which caps one process
at about 24,000 QoS 0 and 15,000 QoS 1 messages a second with nothing else running (measured, see
docs/benchmarks.md); the load generator needs headroom above 20,000 including the simulation. This client
only publishes: CONNECT, PUBLISH (QoS 0/1), PUBACK counting, PINGREQ, DISCONNECT. It does not reconnect: a
fast run that loses its broker fails loudly. Live mode and the demo keep using paho (cityhall/mqtt.py).
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Iterable

_CONNECT = 0x10
_CONNACK = 0x20
_PUBLISH = 0x30
_PUBACK = 0x40
_PINGREQ = b"\xc0\x00"
_PINGRESP = 0xD0
_DISCONNECT = b"\xe0\x00"
_MAX_PACKET_ID = 0xFFFF
_WRITE_CHUNK_BYTES = 64 * 1024
_CONNACK_REFUSED = {
    1: "unacceptable protocol version",
    2: "client identifier rejected",
    3: "server unavailable",
    4: "bad user name or password",
    5: "not authorised",
}


class WireError(ConnectionError):
    """The broker refused us, went away, or did not acknowledge in time."""


def _remaining_length(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _utf8(text: str) -> bytes:
    raw = text.encode()
    return struct.pack("!H", len(raw)) + raw


class BatchPublisher:
    """Publishes (topic, payload) pairs in large writes; QoS 1 waits while its window is full."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        client_id: str,
        qos: int = 1,
        max_inflight: int = 2000,
        username: str = "",
        password: str = "",
        keepalive_s: int = 60,
        ack_timeout_s: float = 30.0,
    ) -> None:
        if qos not in (0, 1):
            raise ValueError("qos must be 0 or 1")
        if not 1 <= max_inflight < _MAX_PACKET_ID:
            raise ValueError(f"max_inflight must be 1..{_MAX_PACKET_ID - 1}")
        self.host, self.port, self.qos = host, port, qos
        self.max_inflight = max_inflight
        self.sent = 0
        self.acked = 0
        self._pongs = 0
        self._client_id, self._username, self._password = client_id, username, password
        self._keepalive_s = keepalive_s
        self._ack_timeout_s = ack_timeout_s
        self._sock: socket.socket | None = None
        self._reader: threading.Thread | None = None
        self._acks = threading.Condition()
        self._error: str | None = None
        self._packet_id = 0
        self._last_write = time.monotonic()

    def connect(self, timeout_s: float = 10.0) -> None:
        """Open the connection and wait for the broker's CONNACK."""
        sock = socket.create_connection((self.host, self.port), timeout=timeout_s)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        flags = 0x02  # clean session: a load generator has nothing to resume
        payload = _utf8(self._client_id)
        if self._username:
            flags |= 0x80
            payload += _utf8(self._username)
            if self._password:
                flags |= 0x40
                payload += _utf8(self._password)
        variable = _utf8("MQTT") + bytes([4, flags]) + struct.pack("!H", self._keepalive_s)
        body = variable + payload
        sock.sendall(bytes([_CONNECT]) + _remaining_length(len(body)) + body)
        head = self._read_exact(sock, 4)
        if head[0] != _CONNACK or head[3] != 0:
            sock.close()
            reason = _CONNACK_REFUSED.get(head[3], f"code {head[3]}") if head[0] == _CONNACK else "no CONNACK"
            raise WireError(f"broker {self.host}:{self.port} refused the connection: {reason}")
        sock.settimeout(None)
        self._sock = sock
        self._reader = threading.Thread(target=self._read_loop, name="mqtt-acks", daemon=True)
        self._reader.start()

    @staticmethod
    def _read_exact(sock: socket.socket, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = sock.recv(n - len(data))
            if not chunk:
                raise WireError("broker closed the connection")
            data += chunk
        return data

    def _read_loop(self) -> None:
        """Count PUBACKs (the broker acknowledges in order); any other packet is skipped."""
        sock = self._sock
        if sock is None:
            return
        buffer = b""
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    raise WireError("broker closed the connection")
                buffer += chunk
                acked, pongs, buffer = self._parse(buffer)
                if acked or pongs:
                    with self._acks:
                        self.acked += acked
                        self._pongs += pongs
                        self._acks.notify_all()
        except (OSError, WireError) as err:
            with self._acks:
                self._error = self._error or str(err)
                self._acks.notify_all()

    @staticmethod
    def _parse(buffer: bytes) -> tuple[int, int, bytes]:
        acked = pongs = 0
        pos = 0
        size = len(buffer)
        while pos + 2 <= size:
            kind = buffer[pos] & 0xF0
            length, shift, i = 0, 0, pos + 1
            while i < size:
                byte = buffer[i]
                length |= (byte & 0x7F) << shift
                shift += 7
                i += 1
                if not byte & 0x80:
                    break
            else:
                break
            if i + length > size:
                break
            if kind == _PUBACK:
                acked += 1
            elif kind == _PINGRESP:
                pongs += 1
            pos = i + length
        return acked, pongs, buffer[pos:]

    def publish_many(self, messages: Iterable[tuple[bytes, bytes]]) -> int:
        """Publish encoded (topic, payload) pairs; returns how many. QoS 1 blocks while the window is full."""
        sock = self._sock
        if sock is None:
            raise WireError("not connected")
        qos1 = self.qos == 1
        header = bytes([_PUBLISH | (0x02 if qos1 else 0)])
        parts: list[bytes] = []
        size = 0
        count = 0
        before = self.sent
        for topic, payload in messages:
            if qos1:
                if self.sent + count - self.acked >= self.max_inflight:
                    size = self._write(sock, parts, count)
                    parts, count = [], 0
                    self._wait_for_window()
                self._packet_id = self._packet_id % _MAX_PACKET_ID + 1
                variable = struct.pack("!H", len(topic)) + topic + struct.pack("!H", self._packet_id)
            else:
                variable = struct.pack("!H", len(topic)) + topic
            length = len(variable) + len(payload)
            packet = header + _remaining_length(length) + variable + payload
            parts.append(packet)
            size += len(packet)
            count += 1
            if size >= _WRITE_CHUNK_BYTES:
                size = self._write(sock, parts, count)
                parts, count = [], 0
        self._write(sock, parts, count)
        return self.sent - before

    def _write(self, sock: socket.socket, parts: list[bytes], count: int) -> int:
        if self._error:
            raise WireError(self._error)
        if parts:
            try:
                sock.sendall(b"".join(parts))
            except OSError as err:
                raise WireError(f"broker connection lost: {err}") from err
            self.sent += count
            self._last_write = time.monotonic()
        return 0

    def _wait_for_window(self) -> None:
        deadline = time.monotonic() + self._ack_timeout_s
        with self._acks:
            while self.sent - self.acked >= self.max_inflight and not self._error:
                if not self._acks.wait(max(0.0, deadline - time.monotonic())):
                    raise WireError(f"no PUBACK from the broker for {self._ack_timeout_s} s")
            if self._error:
                raise WireError(self._error)

    def keep_alive(self) -> None:
        """Send a PINGREQ when nothing was written for half the keep-alive (live pacing can idle)."""
        if self._sock is not None and time.monotonic() - self._last_write > self._keepalive_s / 2:
            self._sock.sendall(_PINGREQ)
            self._last_write = time.monotonic()

    def flush(self, timeout_s: float = 30.0) -> None:
        """Wait until the broker has taken every message: all QoS 1 acknowledged, or (QoS 0) a ping answered.

        A broker handles one connection's packets in order, so the answer to a PINGREQ sent after the last
        QoS 0 PUBLISH means it has read and routed all of them.
        """
        sock = self._sock
        if sock is None:
            raise WireError("not connected")
        deadline = time.monotonic() + timeout_s
        pongs = self._pongs
        if self.qos == 0:
            sock.sendall(_PINGREQ)
        with self._acks:
            while (self.acked < self.sent if self.qos else self._pongs == pongs) and not self._error:
                if not self._acks.wait(max(0.0, deadline - time.monotonic())):
                    raise WireError(f"{self.sent - self.acked} messages unacknowledged after {timeout_s} s")
            if self._error:
                raise WireError(self._error)

    def close(self) -> None:
        """DISCONNECT and close the socket."""
        sock, self._sock = self._sock, None
        if sock is None:
            return
        try:
            sock.sendall(_DISCONNECT)
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # already gone: nothing left to tell the broker
        sock.close()
        if self._reader is not None:
            self._reader.join(timeout=5)
