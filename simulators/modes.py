"""The three ways to run a plan: live (wall clock x speed), fast (as fast as the broker takes), backfill
(history straight into a reading store). Each is a thin driver over the pure Simulation."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import structlog
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from cityhall.contract import PayloadFormat, Reading, readings_topic
from cityhall.mqtt import connect, make_client
from cityhall.settings import Settings
from cityhall.timeseries import ReadingStore
from simulators.engine import Simulation, Tick
from simulators.formats import encode
from simulators.scenario import Plan
from simulators.wire import BatchPublisher, WireError

log = structlog.get_logger(__name__)
# Readings per store write in backfill: large enough to amortise a round trip, small enough for one request.
BACKFILL_BATCH_READINGS = 20_000
_CONNECT_TIMEOUT_S = 30.0
# How long a live run that ends waits for the broker to take what paho still holds.
_FLUSH_TIMEOUT_S = 30.0

Message = tuple[bytes, bytes]


@dataclass(slots=True)
class RunStats:
    """What a run did."""

    instants: int = 0
    messages: int = 0
    readings: int = 0
    seconds: float = 0.0

    @property
    def messages_per_s(self) -> float:
        """Throughput of the run."""
        return self.messages / self.seconds if self.seconds else 0.0


def utc_stamp(ts: datetime) -> str:
    """The native payload's time stamp: UTC, milliseconds, `Z`."""
    return ts.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Encoder:
    """Turns a tick into MQTT messages, each device in its payload format.

    Native JSON is the hot path: each device's topic and payload head are encoded once, and the values
    are formatted with repr(), which is what json.dumps writes for a float (tests check the bytes agree
    with cityhall.contract.encode_native).
    """

    def __init__(self, formats: dict[str, PayloadFormat], prefix: str) -> None:
        self.formats = formats
        self.prefix = prefix
        self._native: dict[str, tuple[bytes, str]] = {}
        for code, fmt in formats.items():
            if fmt is PayloadFormat.NATIVE:
                self._native[code] = (readings_topic(prefix, code).encode(), f'{{"device":"{code}","ts":"')

    def messages(self, tick: Tick) -> Iterator[Message]:
        """Every message of one instant: those with a time of their own first (they happened before it)."""
        for device, values, ts in tick.stamped:
            yield from self._encoded(device.code, values, ts, utc_stamp(ts))
        stamp = utc_stamp(tick.ts)
        native = self._native
        for device, values in tick.samples:
            head = native.get(device.code)
            if head is not None:
                body = ",".join([f'"{key}":{value!r}' for key, value in values.items()])
                yield head[0], f'{head[1]}{stamp}","values":{{{body}}}}}'.encode()
                continue
            yield from self._encoded(device.code, values, tick.ts, stamp)

    def _encoded(self, code: str, values: dict[str, float], ts: datetime, stamp: str) -> Iterator[Message]:
        head = self._native.get(code)
        if head is not None:
            body = ",".join([f'"{key}":{value!r}' for key, value in values.items()])
            yield head[0], f'{head[1]}{stamp}","values":{{{body}}}}}'.encode()
            return
        fmt = self.formats.get(code, PayloadFormat.NATIVE)
        for topic, payload in encode(fmt, device=code, ts=ts, values=values, prefix=self.prefix):
            yield topic.encode(), payload


def write_truth(plan: Plan, out_dir: Path, run_id: str) -> Path:
    """Write the plan's ground truth as JSON lines, one fault per line; returns the file."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{plan.name}-{run_id}.truth.jsonl"
    with path.open("w", encoding="utf-8") as out:
        for fault in sorted(plan.faults, key=lambda f: (f.start, f.id)):
            out.write(json.dumps(fault.truth(scenario=plan.name, run_id=run_id), sort_keys=True) + "\n")
    return path


def new_run_id() -> str:
    """A run id from the wall clock, e.g. 20260713T080000Z."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def progress_bar(*, enabled: bool) -> Progress:
    """The rich progress bar every mode shows."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        disable=not enabled,
        transient=False,
    )


def run_fast(plan: Plan, publisher: BatchPublisher, *, prefix: str, show_progress: bool = True) -> RunStats:
    """Publish the whole plan with explicit timestamps as fast as the broker takes; waits for every ack."""
    sim = plan.simulation()
    encoder = Encoder(plan.formats, prefix)
    stats = RunStats()
    started = time.perf_counter()
    with progress_bar(enabled=show_progress) as progress:
        task = progress.add_task(f"fast {plan.name}", total=sim.count_until(plan.end), rate="")
        for tick in sim.ticks(plan.end):
            stats.messages += publisher.publish_many(encoder.messages(tick))
            stats.readings += sum(len(v) for _, v in tick.samples) + sum(len(m[1]) for m in tick.stamped)
            stats.instants += 1
            elapsed = time.perf_counter() - started
            progress.update(task, advance=1, rate=f"{stats.messages / max(elapsed, 1e-9):,.0f} msg/s")
        publisher.flush()
    stats.seconds = time.perf_counter() - started
    return stats


def run_backfill(
    plan: Plan,
    store: ReadingStore,
    *,
    batch_readings: int = BACKFILL_BATCH_READINGS,
    show_progress: bool = True,
) -> RunStats:
    """Write the plan's history straight into a reading store, in batches (idempotent: reruns overwrite)."""
    sim = plan.simulation()
    tags = {d.code: d.tags for d in plan.devices}
    stats = RunStats()
    batch: list[Reading] = []
    started = time.perf_counter()
    with progress_bar(enabled=show_progress) as progress:
        task = progress.add_task(f"backfill {plan.name}", total=sim.count_until(plan.end), rate="")
        for tick in sim.ticks(plan.end):
            for device, values, stamped_at in tick.stamped:
                at = stamped_at.astimezone(UTC)
                batch.extend(Reading(device.code, key, at, value) for key, value in values.items())
            ts = tick.ts.astimezone(UTC)
            for device, values in tick.samples:
                code = device.code
                batch.extend(Reading(code, key, ts, value) for key, value in values.items())
            stats.instants += 1
            stats.messages += len(tick.samples) + len(tick.stamped)
            if len(batch) >= batch_readings:
                store.write(batch, tags)
                stats.readings += len(batch)
                batch = []
            elapsed = time.perf_counter() - started
            progress.update(task, advance=1, rate=f"{stats.readings / max(elapsed, 1e-9):,.0f} readings/s")
        store.write(batch, tags)
        stats.readings += len(batch)
    stats.seconds = time.perf_counter() - started
    return stats


class LiveRun:
    """Publishes a simulation on the wall clock: instant k goes out `k * step / speed` after the start.

    Uses paho (reconnects, MQTT 5, QoS 1 with the broker's flow control), as every long-running process does.
    """

    def __init__(
        self,
        settings: Settings,
        sim: Simulation,
        encoder: Encoder,
        *,
        speed: float = 1.0,
        client_id: str = "cityhall-simulator",
        qos: int = 1,
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.settings = settings
        self.sim = sim
        self.encoder = encoder
        self.speed = speed
        self.qos = qos
        self.published = 0
        self._client: mqtt.Client = make_client(settings, client_id)
        self._stop = threading.Event()
        self._connected = threading.Event()
        self._client.on_connect = lambda *_a: self._connected.set()

    def run(
        self, *, until: datetime | None = None, on_tick: Callable[[Tick, int], None] | None = None
    ) -> None:
        """Connect and publish until stop(), `until` on the simulated clock, or forever."""
        connect(self._client, self.settings)
        self._client.loop_start()
        try:
            if not self._connected.wait(_CONNECT_TIMEOUT_S):
                raise ConnectionError(
                    f"no MQTT broker at {self.settings.mqtt_host}:{self.settings.mqtt_port}"
                )
            started = time.monotonic()
            step_s = self.sim.step.total_seconds() / self.speed
            index = 0
            last: mqtt.MQTTMessageInfo | None = None
            while not self._stop.is_set():
                if until is not None and self.sim.time_of(index) >= until:
                    break
                tick = self.sim.tick()
                sent = 0
                for topic, payload in self.encoder.messages(tick):
                    last = self._client.publish(topic.decode(), payload, qos=self.qos)
                    sent += 1
                self.published += sent
                if on_tick is not None:
                    on_tick(tick, sent)
                index += 1
                self._stop.wait(max(0.0, started + index * step_s - time.monotonic()))
            # paho sends in order: once the last message is out (acknowledged at QoS 1), all of them are.
            # Without a broker (it went away, or the demo is shutting down) there is nothing to wait for.
            if last is not None and self._client.is_connected():
                last.wait_for_publish(_FLUSH_TIMEOUT_S)
        finally:
            self._client.disconnect()
            self._client.loop_stop()

    def stop(self) -> None:
        """End run() after the current instant."""
        self._stop.set()


def live_start(step: timedelta) -> datetime:
    """Now, rounded down onto the step grid (live runs start on the wall clock)."""
    now = datetime.now(UTC)
    return now - (now - datetime(2000, 1, 1, tzinfo=UTC)) % step


def live_runner(settings: Settings, plan: Plan, *, speed: float, qos: int = 1) -> LiveRun:
    """A live runner for a plan (stop() it from a signal handler)."""
    encoder = Encoder(plan.formats, settings.mqtt_topic_prefix)
    return LiveRun(settings, plan.simulation(), encoder, speed=speed, qos=qos)


def fast_publisher(settings: Settings, *, qos: int, max_inflight: int, client_id: str = "") -> BatchPublisher:
    """A connected batch publisher for the configured broker."""
    if settings.mqtt_tls:
        raise WireError(
            "fast mode publishes over plain TCP only (it is a load generator): point it at the broker's "
            "plain listener without CITYHALL_MQTT_TLS, or use live mode, which speaks TLS"
        )
    publisher = BatchPublisher(
        settings.mqtt_host,
        settings.mqtt_port,
        client_id=client_id or f"cityhall-simulate-{os.getpid()}",
        qos=qos,
        max_inflight=max_inflight,
        username=settings.mqtt_username,
        password=settings.mqtt_password.get_secret_value(),
    )
    publisher.connect()
    return publisher


def run_live(live: LiveRun, plan: Plan, *, show_progress: bool = True) -> RunStats:
    """Run a plan live with a progress bar until its end or live.stop() (e.g. from a signal handler)."""
    stats = RunStats()
    started = time.perf_counter()
    with progress_bar(enabled=show_progress) as progress:
        total = live.sim.count_until(plan.end)
        task = progress.add_task(f"live x{live.speed:g} {plan.name}", total=total, rate="")

        def on_tick(tick: Tick, sent: int) -> None:
            stats.instants += 1
            stats.messages += sent
            progress.update(task, advance=1, rate=tick.ts.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC"))

        live.run(until=plan.end, on_tick=on_tick)
    stats.seconds = time.perf_counter() - started
    return stats
