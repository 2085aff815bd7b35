"""The collector's hot path, old against new in the same run: MQTT receive + acknowledge (paho-mqtt 2 against
collector.mqttwire, both fed by a scripted broker on a local socket), native decode (the contract's pydantic
model with its Python validators, as shipped before, against the contract's plain path; and the best
library-only decode, a model whose checks all run in pydantic-core, against the same plain path: the
hand-written path stays only while it wins by a margin), the collector's triage of a batch, line-protocol
tags (escaped per reading vs once per device per batch; then quantities and instants once as well), the
hand-off between the MQTT thread and the writer (queue.Queue vs a deque drained in bulk), and the records
built per message and per reading (NamedTuple call vs tuple.__new__, frozen vs plain slots dataclass). The
InfluxDB write client is measured against a real server by bench/influx_write.py.

    .venv/bin/python bench/hotpath.py [--repeats 5] [--messages 50000] [--steps decode,triage]

Prints a Markdown table of medians (microseconds per message) and the ratio old / new.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import platform
import queue
import socket
import statistics
import subprocess
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy import select

from cityhall.assets import import_assets, load_yaml, seed_path
from cityhall.contract import (
    DEVICE_CODE_RE,
    MAX_FUTURE,
    QUANTITIES,
    Reading,
    ReadingPayload,
    decode_native,
    encode_native,
)
from cityhall.db import Base, make_engine, make_sessionmaker, transaction
from cityhall.models import Device, DeviceKind
from cityhall.observability import configure_logging
from cityhall.timeseries.lineprotocol import _MEASUREMENT, encode, epoch_ns, tag_string
from cityhall.timeseries.sql import SqlStore
from collector.devices import DeviceDirectory
from collector.mqttwire import Message, MqttSubscriber, Options, PacketReader, encode_varint
from collector.payloads import default_registry
from collector.payloads import native as native_module
from collector.writer import BatchWriter

DEVICES = [f"YH-A-{floor}F-EM-{n:02d}" for floor in range(1, 11) for n in range(1, 6)]
TAGS = {
    d: {"building": "YH-A", "site": "YH", "kind": "electricity_meter", "space": d[:7] + "PLANT"}
    for d in DEVICES
}


def payloads(n: int) -> list[bytes]:
    """n native payloads over 50 devices, one power reading each."""
    base = datetime.now(UTC) - timedelta(days=2)  # every timestamp in the past
    return [
        encode_native(DEVICES[i % 50], base + timedelta(seconds=i), {"power_kw": 40.0 + i % 100})
        for i in range(n)
    ]


def per_batch(decode: Callable[[bytes], list[Reading]], raws: list[bytes]) -> None:
    """Decode in batches of 500, each batch's readings dropped before the next, as in the collector."""
    for i in range(0, len(raws), 500):
        [decode(raw) for raw in raws[i : i + 500]]


def decode_native_before(raw: bytes) -> list[Reading]:
    """decode_native as shipped before the plain path: the model alone, its `ts` validator reading the clock
    for every message."""
    payload = ReadingPayload.model_validate_json(raw)
    return [Reading(payload.device, key, payload.ts, value) for key, value in payload.values.items()]


class LibraryPayload(BaseModel):
    """The native payload with every check pydantic-core can run itself (no Python validator)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    device: str = Field(pattern=DEVICE_CODE_RE.pattern)
    ts: AwareDatetime
    values: dict[str, float] = Field(min_length=1)


def decode_library(raw: bytes, now: datetime) -> list[Reading]:
    """The best library-only decode of a valid payload: LibraryPayload, then the catalogue ranges and the
    future check (the batch's clock) in Python, as the plain path does them."""
    payload = LibraryPayload.model_validate_json(raw)
    ts = payload.ts.astimezone(UTC)
    if ts > now + MAX_FUTURE:
        raise ValueError("future")
    out = []
    for key, value in payload.values.items():
        quantity = QUANTITIES.get(key)
        if quantity is None or not quantity.minimum <= value <= quantity.maximum:
            raise ValueError(key)
        out.append(Reading(payload.device, key, ts, value))
    return out


@contextlib.contextmanager
def native_decode_before() -> Iterator[None]:
    """Make the native decoder decode as it did before (decode_native_before, which ignores `now`)."""
    original = native_module.decode_native  # type: ignore[attr-defined]

    def before(raw: bytes, *, now: datetime | None = None) -> list[Reading]:
        del now
        return decode_native_before(raw)

    native_module.decode_native = before  # type: ignore[attr-defined]
    try:
        yield
    finally:
        native_module.decode_native = original  # type: ignore[attr-defined]


def encode_per_reading(readings: list[Reading]) -> bytes:
    """Line protocol with every reading's tags escaped and sorted again (the old encode)."""
    lines = []
    for r in readings:
        tag_set = tag_string(r.device, TAGS[r.device])
        lines.append(f"{r.quantity.translate(_MEASUREMENT)},{tag_set} value={r.value!r} {epoch_ns(r.ts)}")
    return ("\n".join(lines) + "\n").encode()


def encode_tags_once(readings: list[Reading]) -> bytes:
    """Line protocol with tags escaped once per device, but every quantity escaped and every instant
    converted again for each reading (the encode before 2026-11-27's second round)."""
    tag_sets: dict[str, str] = {}
    lines = []
    for r in readings:
        tag_set = tag_sets.get(r.device)
        if tag_set is None:
            tag_set = tag_sets[r.device] = tag_string(r.device, TAGS.get(r.device, {}))
        lines.append(
            f"{r.quantity.translate(_MEASUREMENT)},{tag_set} value={float(r.value)!r} {epoch_ns(r.ts)}"
        )
    return ("\n".join(lines) + "\n").encode()


@dataclass(frozen=True, slots=True)
class FrozenReading:
    """cityhall.contract.Reading as it was: frozen."""

    device: str
    quantity: str
    ts: datetime
    value: float


def without_gc(fn: Callable[[], object]) -> Callable[[], object]:
    """fn with the cyclic GC off: building 50,000 records in a process holding this benchmark's data
    otherwise times the collections they trigger more than the records (noise of 0.2-2 µs a record)."""

    def run() -> object:
        gc.disable()
        try:
            return fn()
        finally:
            gc.enable()

    return run


def handoff_queue(items: list[bytes]) -> None:
    """Producer thread puts one by one; consumer gets one by one (the old inbox)."""
    q: queue.Queue[bytes] = queue.Queue()
    done = threading.Event()

    def consume() -> None:
        for _ in range(len(items)):
            q.get(timeout=5)
        done.set()

    t = threading.Thread(target=consume)
    t.start()
    for item in items:
        q.put(item)
    done.wait(60)
    t.join()


def handoff_deque(items: list[bytes]) -> None:
    """Producer appends and sets an event; consumer drains in bulk (the new inbox)."""
    inbox: deque[bytes] = deque()
    mail = threading.Event()
    got = 0

    def consume() -> None:
        nonlocal got
        while got < len(items):
            mail.clear()
            if not inbox:
                mail.wait(0.02)
            while inbox:
                inbox.popleft()
                got += 1

    t = threading.Thread(target=consume)
    t.start()
    for item in items:
        inbox.append(item)
        mail.set()
    t.join(60)


PUBACK_BYTES = 4


class ScriptedBroker:
    """Just enough of an MQTT 5 broker for one client: CONNACK, SUBACK, then the given PUBLISH packets as
    fast as the socket takes them; `elapsed` runs from the first PUBLISH to the PUBACK of the last."""

    def __init__(self, packets: list[bytes]) -> None:
        self._packets = packets
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self.elapsed = 0.0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        conn, _ = self._listener.accept()
        self._listener.close()
        reader = PacketReader(v5=False)  # the client sends no PUBLISH: every packet lands in controls
        with conn:
            self._expect(conn, reader, 0x10)
            conn.sendall(b"\x20\x03\x00\x00\x00")  # CONNACK: success, no properties
            subscribe = self._expect(conn, reader, 0x80)
            conn.sendall(b"\x90\x04" + subscribe[:2] + b"\x00\x01")  # SUBACK: QoS 1 granted
            started = time.perf_counter()
            sender = threading.Thread(target=conn.sendall, args=(b"".join(self._packets),))
            sender.start()
            acked_bytes = 0  # after SUBACK the client sends only PUBACKs, four bytes each
            while acked_bytes < PUBACK_BYTES * len(self._packets):
                data = conn.recv(1 << 16)
                if not data:
                    raise ConnectionError("client went away")
                acked_bytes += len(data)
            self.elapsed = time.perf_counter() - started
            sender.join()

    @staticmethod
    def _read(conn: socket.socket, reader: PacketReader) -> list[tuple[int, bytes]]:
        data = conn.recv(1 << 16)
        if not data:
            raise ConnectionError("client went away")
        reader.feed(data)
        controls, reader.controls = reader.controls, []
        return controls

    def _expect(self, conn: socket.socket, reader: PacketReader, kind: int) -> bytes:
        while True:
            for first, body in self._read(conn, reader):
                if first & 0xF0 == kind:
                    return body

    def wait(self) -> float:
        """Seconds from the first PUBLISH to the last PUBACK."""
        self._thread.join(120)
        return self.elapsed


def publish_packets(raws: list[bytes]) -> list[bytes]:
    """MQTT 5 QoS 1 PUBLISH packets (empty property block) of the payloads, packet ids 1, 2, ..."""
    out = []
    for i, raw in enumerate(raws):
        topic = f"cityhall/v1/readings/{DEVICES[i % len(DEVICES)]}".encode()
        body = len(topic).to_bytes(2, "big") + topic + (i % 65535 + 1).to_bytes(2, "big") + b"\x00" + raw
        out.append(b"\x32" + encode_varint(len(body)) + body)
    return out


def batches_of(
    inbox: deque[Any], mail: threading.Event, total: int, ack: Callable[[list[Any]], object]
) -> None:
    """The writer's side: take up to 500 waiting messages at a time and acknowledge them."""
    done = 0
    while done < total:
        mail.clear()
        if not inbox:
            mail.wait(0.02)
        batch = [inbox.popleft() for _ in range(min(500, len(inbox)))]
        if batch:
            ack(batch)
            done += len(batch)


def receive_paho(packets: list[bytes]) -> None:
    """paho-mqtt 2 as the collector used it: MQTT 5, manual ack, one on_message and one ack per message."""
    broker = ScriptedBroker(packets)
    inbox: deque[mqtt.MQTTMessage] = deque()
    mail = threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="hot", protocol=mqtt.MQTTv5, manual_ack=True)

    def on_message(_c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        inbox.append(msg)
        mail.set()

    def ack(batch: list[mqtt.MQTTMessage]) -> None:
        for msg in batch:
            client.ack(msg.mid, msg.qos)

    client.on_message = on_message
    client.on_connect = lambda c, *_: c.subscribe("cityhall/v1/readings/+", qos=1)
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    batches_of(inbox, mail, len(packets), ack)
    broker.wait()
    client.loop_stop()


def receive_wire(packets: list[bytes]) -> None:
    """collector.mqttwire: a list of Messages per socket read, one PUBACK write per batch."""
    broker = ScriptedBroker(packets)
    inbox: deque[Message] = deque()
    mail = threading.Event()

    def on_messages(messages: list[Message]) -> None:
        inbox.extend(messages)
        mail.set()

    options = Options("127.0.0.1", broker.port, "hot", ("cityhall/v1/readings/+",))
    sub = MqttSubscriber(options, on_messages=on_messages)
    sub.start()
    batches_of(inbox, mail, len(packets), sub.ack)
    broker.wait()
    sub.stop()


def seeded_writer(directory: Path) -> tuple[BatchWriter, list[str]]:
    """A BatchWriter over a SQLite copy of the shipped asset register (no store: triage only), and its
    electricity meters."""
    engine = make_engine(f"sqlite:///{directory / 'hotpath.db'}")
    Base.metadata.create_all(engine)
    factory = make_sessionmaker(engine)
    with transaction(factory) as session:
        import_assets(session, load_yaml(seed_path()), actor="hotpath")
        query = select(Device.code).where(Device.kind == DeviceKind.ELECTRICITY_METER)
        meters = sorted(session.scalars(query))
    devices = DeviceDirectory(factory)
    devices.reload()
    writer = BatchWriter(
        registry=default_registry("cityhall/v1"),
        devices=devices,
        store=SqlStore(engine),
        session_factory=factory,
    )
    return writer, meters


def triage_before(writer: BatchWriter, batches: list[list[Message]]) -> list[list[Reading]]:
    """BatchWriter.triage with the native decode as it was before the plain path (the model per message)."""
    with native_decode_before():
        return [writer.triage(b).readings for b in batches]


def per_message_us(
    old: Callable[[], object], new: Callable[[], object], n: int, repeats: int
) -> tuple[float, float]:
    """Median microseconds per message of old and new over repeats, run in turns (old first in even
    repeats, new first in odd ones) so that load from other processes on a shared machine hits both."""
    runs: dict[int, list[float]] = {0: [], 1: []}
    for rep in range(repeats):
        for which in (0, 1) if rep % 2 == 0 else (1, 0):
            fn = (old, new)[which]
            started = time.perf_counter()
            fn()
            runs[which].append((time.perf_counter() - started) / n * 1e6)
    return statistics.median(runs[0]), statistics.median(runs[1])


def main() -> None:
    """Parse the arguments and run."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--steps", default="", help="only the steps whose names contain one of these words")
    args = parser.parse_args()
    configure_logging(level="WARNING")
    with contextlib.ExitStack() as stack:
        run(args, stack)


def run(args: argparse.Namespace, stack: contextlib.ExitStack) -> None:
    """Measure every pair and print the table."""
    n, r = args.messages, args.repeats
    raws = payloads(n)
    readings = [x for raw in raws for x in decode_native(raw)]
    # Old and new must produce the same output, or the comparison means nothing.
    now = datetime.now(UTC)
    decoded = [decode_native(raw, now=now) for raw in raws[:1000]]
    if [decode_native_before(raw) for raw in raws[:1000]] != decoded:
        raise SystemExit("decoders disagree")
    if [decode_library(raw, now) for raw in raws[:1000]] != decoded:
        raise SystemExit("decoders disagree")
    # Three quantities a message (as Tasmota and Shelly payloads carry), sharing the message's instant.
    multi = [
        Reading(r.device, q, r.ts, r.value) for r in readings for q in ("power_kw", "energy_kwh", "on_state")
    ][:n]
    for old_encode in (encode_per_reading, encode_tags_once):
        if old_encode(readings[:1000]) != encode(readings[:1000], TAGS) or old_encode(multi) != encode(
            multi, TAGS
        ):
            raise SystemExit("encoders disagree")
    fields = [(i, 1, f"cityhall/v1/readings/{DEVICES[i % 50]}", raw, False) for i, raw in enumerate(raws)]
    new_tuple = tuple.__new__
    packets = publish_packets(raws)
    writer, meters = seeded_writer(Path(stack.enter_context(tempfile.TemporaryDirectory())))
    base = datetime.now(UTC) - timedelta(days=2)
    messages = [
        Message(i + 1, 1, f"cityhall/v1/readings/{meters[i % len(meters)]}", raw)
        for i, raw in enumerate(
            encode_native(meters[i % len(meters)], base + timedelta(seconds=i), {"power_kw": 40.0 + i % 100})
            for i in range(n)
        )
    ]
    batches = [messages[i : i + 500] for i in range(0, n, 500)]
    if triage_before(writer, batches[:2]) != [writer.triage(b).readings for b in batches[:2]]:
        raise SystemExit("triage loops disagree")
    pairs = [
        (
            "triage (decode, check, register), batches of 500: native decode before (old) vs now (new)",
            lambda: triage_before(writer, batches),
            lambda: [writer.triage(b) for b in batches],
        ),
        (
            "native decode, clock per message: model with its Python validators (old) vs plain path (new)",
            lambda: per_batch(decode_native_before, raws),
            lambda: per_batch(decode_native, raws),
        ),
        (
            "native decode, batch clock: library only, checks in pydantic-core (old) vs plain path (new)",
            lambda: per_batch(partial(decode_library, now=now), raws),
            lambda: per_batch(partial(decode_native, now=now), raws),
        ),
        (
            "MQTT receive + PUBACK, QoS 1, scripted broker: paho-mqtt 2 (old) vs mqttwire (new)",
            lambda: receive_paho(packets),
            lambda: receive_wire(packets),
        ),
        (
            "line protocol, batches of 500",
            lambda: [encode_per_reading(readings[i : i + 500]) for i in range(0, n, 500)],
            lambda: [encode(readings[i : i + 500], TAGS) for i in range(0, n, 500)],
        ),
        ("thread hand-off", lambda: handoff_queue(raws), lambda: handoff_deque(raws)),
        (
            "reading record: frozen dataclass (old) vs slots dataclass (new)",
            without_gc(lambda: [FrozenReading(r.device, r.quantity, r.ts, r.value) for r in readings]),
            without_gc(lambda: [Reading(r.device, r.quantity, r.ts, r.value) for r in readings]),
        ),
        (
            "MQTT message record: NamedTuple call (old) vs tuple.__new__ (new)",
            without_gc(lambda: [Message(*f) for f in fields]),
            without_gc(lambda: [new_tuple(Message, f) for f in fields]),
        ),
        (
            "line protocol, batches of 500, one reading a message: tags once (old) vs instants too (new)",
            lambda: [encode_tags_once(readings[i : i + 500]) for i in range(0, n, 500)],
            lambda: [encode(readings[i : i + 500], TAGS) for i in range(0, n, 500)],
        ),
        (
            "line protocol, batches of 500, three readings a message: tags once (old) vs instants too (new)",
            lambda: [encode_tags_once(multi[i : i + 500]) for i in range(0, n, 500)],
            lambda: [encode(multi[i : i + 500], TAGS) for i in range(0, n, 500)],
        ),
    ]
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), "?")
    date = subprocess.run(["date", "-u"], capture_output=True, text=True, check=True).stdout.strip()
    steps_arg = f" --steps {args.steps}" if args.steps else ""
    print(f"- command: `.venv/bin/python bench/hotpath.py --repeats {r} --messages {n}{steps_arg}`")
    print(f"- date: {date}; machine: {os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}")
    print()
    print("| step | old (µs/msg) | new (µs/msg) | old / new |")
    print("| --- | ---: | ---: | ---: |")
    steps = [s.strip() for s in args.steps.split(",") if s.strip()]
    for name, old, new in pairs:
        if steps and not any(step in name for step in steps):
            continue
        old_us, new_us = per_message_us(old, new, n, r)
        print(f"| {name} | {old_us:.2f} | {new_us:.2f} | {old_us / new_us:.2f} |")


if __name__ == "__main__":
    main()
