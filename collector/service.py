"""The collector process: subscribe with QoS 1, batch, write, and only then acknowledge to the broker."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from functools import partial

import structlog
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from cityhall.contract import Reading
from cityhall.mqtt import SESSION_EXPIRY_S, subscription, tls_context
from cityhall.settings import Settings
from cityhall.timeseries import ReadingStore, StoreUnavailableError
from collector import metrics
from collector.devices import DeviceDirectory
from collector.mqttwire import Message, MqttSubscriber, Options
from collector.payloads import registry_for
from collector.quarantine import replay_registered
from collector.spool import Spool, SpoolFullError
from collector.writer import BatchWriter

log = structlog.get_logger(__name__)
# After the first message of a batch, wait this long for more before writing a short batch: the broker only
# sends a limited number of unacknowledged messages, so waiting for a full batch would stall.
LINGER_S = 0.02
MAX_BACKOFF_S = 30.0
# The most unacknowledged messages the broker may send us (MQTT 5 receive maximum) is at least two batches:
# the broker fills the next batch while one is being written. With MQTT 3.1.1 the broker's own setting
# (Mosquitto's max_inflight_messages) decides, and a batch larger than it always ends by the linger.
MIN_RECEIVE_MAXIMUM = 1000
MAX_RECEIVE_MAXIMUM = 65_535
KEEPALIVE_S = 30
SPOOL_WARN_RATIO = 0.8  # health turns degraded and an error is logged from here on


class Collector:
    """MQTT -> store with at-least-once delivery: a message is acknowledged only once its data is stored."""

    def __init__(
        self, settings: Settings, *, store: ReadingStore, session_factory: sessionmaker[Session]
    ) -> None:
        self.settings = settings
        self.store = store
        self.client_id = settings.mqtt_client_id or f"cityhall-collector-{socket.gethostname()}"
        self.devices = DeviceDirectory(session_factory)
        self.registry = registry_for(settings)
        self.writer = BatchWriter(
            registry=self.registry,
            devices=self.devices,
            store=store,
            session_factory=session_factory,
        )
        # A deque filled by the MQTT thread one read at a time and emptied in bulk by the writer: a Queue's
        # lock and condition per message cost about a tenth of the collector's time in the ingest profile.
        self._inbox: deque[Message] = deque()
        self._mail = threading.Event()
        self._wanted = 1  # inbox length at which the writer wants waking (see _wait_for_mail)
        self._stop = threading.Event()
        self._connected = threading.Event()
        self._store_failed_at: float | None = None
        self.received = 0
        self._next_replay = 0.0
        self._factory = session_factory
        data_dir = settings.data_dir
        self.spool = Spool(
            data_dir / f"spool-{self.client_id}.db", max_readings=settings.collector_spool_max_readings
        )
        self.subscriptions = tuple(subscription(settings, f) for f in self.registry.subscriptions)
        self._mqtt = MqttSubscriber(
            mqtt_options(settings, self.client_id, self.subscriptions),
            on_messages=self._on_messages,
            on_connected=self._on_connected,
            on_disconnected=self._on_disconnected,
            can_read=self._inbox_has_room,
        )
        # Read ahead at most this many messages: the broker keeps the rest (see MqttSubscriber's can_read).
        self._inbox_limit = receive_maximum(settings.collector_batch_size)
        self._thread = threading.Thread(target=self._run_writer, name="collector-writer", daemon=True)
        self._drainer = threading.Thread(target=self._run_drainer, name="collector-drainer", daemon=True)

    # --- MQTT callbacks (the subscriber's I/O thread) ---
    def _on_connected(self) -> None:
        self._connected.set()
        metrics.CONNECTED.set(1)

    def _on_disconnected(self, reason: str) -> None:
        self._connected.clear()
        metrics.CONNECTED.set(0)
        if not self._stop.is_set():
            log.warning("mqtt_disconnected", reason=reason)

    def _inbox_has_room(self) -> bool:
        return len(self._inbox) < self._inbox_limit

    def _on_messages(self, messages: list[Message]) -> None:
        """One socket read's messages; once stopping they are left unacknowledged for the broker to resend."""
        if self._stop.is_set():
            return
        metrics.RECEIVED.inc(len(messages))
        self.received += len(messages)  # per instance (the metric is per process): how a shared group splits
        self._inbox.extend(messages)
        if len(self._inbox) >= self._wanted:
            self._mail.set()

    # --- writer thread ---
    def _take(self, batch: list[Message], limit: int) -> None:
        """Move up to `limit` waiting messages into the batch without blocking."""
        inbox = self._inbox
        while inbox and len(batch) < limit:
            batch.append(inbox.popleft())

    def _wait_for_mail(self, wanted: int, timeout: float) -> bool:
        """Sleep until `wanted` messages wait in the inbox or the timeout passes; True if they do. The MQTT
        thread wakes us only then, not for every socket read: each wake-up costs both threads the GIL."""
        self._wanted = wanted
        self._mail.clear()
        if len(self._inbox) >= wanted:  # arrived between the last take and the clear: no lost wake-up
            return True
        return self._mail.wait(timeout)

    def _next_batch(self) -> list[Message]:
        """The next batch: up to the batch size, written early once LINGER_S passes without a new message
        (or the flush interval since the first)."""
        limit = self.settings.collector_batch_size
        batch: list[Message] = []
        self._take(batch, limit)
        if not batch:
            if not self._wait_for_mail(1, 0.5):
                return []
            self._take(batch, limit)
        deadline = time.monotonic() + self.settings.collector_flush_seconds
        while len(batch) < limit:
            timeout = min(LINGER_S, deadline - time.monotonic())
            if timeout <= 0:
                break
            full = self._wait_for_mail(limit - len(batch), timeout)
            had = len(batch)
            self._take(batch, limit)
            if not full and len(batch) == had:
                break
        return batch

    def _run_writer(self) -> None:
        while not self._stop.is_set() or self._inbox:
            batch = self._next_batch()
            metrics.QUEUE_DEPTH.set(len(self._inbox))
            if not batch:
                continue
            result = self.writer.triage(batch)
            keep_readings = partial(self._keep_readings, result.readings)
            if not self._retry(keep_readings, "readings", len(batch)):
                return
            keep_dead_letters = partial(self.writer.write_dead_letters, result.dead_letters)
            if not self._retry(keep_dead_letters, "dead_letters", len(batch)):
                return
            # Only now is every reading in the store or the spool, and every dead letter in SQL.
            self._mqtt.ack(batch)

    def _retry(self, step: Callable[[], None], what: str, messages: int) -> bool:
        """Run a step until it succeeds; False if stopped first (nothing acked: the broker redelivers)."""
        backoff = 0.5
        while True:
            try:
                step()
                return True
            except (StoreUnavailableError, SpoolFullError, SQLAlchemyError) as err:
                log.warning(
                    "batch_not_kept", step=what, error=str(err), retry_in_s=backoff, messages=messages
                )
            except Exception:  # the loop's edge: log with context, keep the messages unacknowledged
                log.exception("batch_failed", step=what, messages=messages)
            if self._stop.wait(backoff):
                return False
            backoff = min(backoff * 2, MAX_BACKOFF_S)

    def _keep_readings(self, readings: list[Reading]) -> None:
        """Write to the store; while it is down (or behind on the spool), append to the spool instead."""
        if not readings:
            return
        if self._store_failed_at is None:
            try:
                self.writer.write_readings(readings)
                return
            except StoreUnavailableError as err:
                self._store_failed(err)
        self.spool.append(readings)  # raises SpoolFullError: then nothing is acknowledged
        metrics.SPOOLED.inc(len(readings))
        self._spool_gauges()

    def _store_failed(self, err: Exception) -> None:
        if self._store_failed_at is None:
            self._store_failed_at = time.monotonic()
            log.warning("store_unavailable_spooling", error=str(err), spool=str(self.spool.path))
        metrics.WRITE_FAILURES.inc()
        metrics.STORE_UP.set(0)

    def _spool_gauges(self) -> None:
        metrics.SPOOL_READINGS.set(self.spool.readings)
        metrics.SPOOL_FILL.set(self.spool.fill_ratio)
        if self.spool.fill_ratio >= SPOOL_WARN_RATIO:
            log.error("spool_nearly_full", readings=self.spool.readings, limit=self.spool.max_readings)

    def _run_drainer(self) -> None:
        """Drain the spool oldest first; the first success also closes the circuit for live writes."""
        backoff = 0.5
        while not self._stop.is_set():
            batch = self.spool.oldest()
            if batch is None:
                if self._store_failed_at is not None:
                    self._probe_store()
                elif time.monotonic() >= self._next_replay:
                    self._replay_quarantine()
                self._stop.wait(0.5)
                continue
            try:
                self.writer.write_readings(batch.readings)
            except StoreUnavailableError as err:
                self._store_failed(err)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_S)
                continue
            self.spool.remove(batch)
            metrics.DRAINED.inc(len(batch.readings))
            self._spool_gauges()
            backoff = 0.5
            if self._store_failed_at is not None:
                log.info("store_back", spooled_left=self.spool.readings)
                self._store_failed_at = None
                metrics.STORE_UP.set(1)

    def _replay_quarantine(self) -> None:
        """Ingest quarantined messages of devices registered since; a failure waits for the next round."""
        self._next_replay = time.monotonic() + self.settings.collector_replay_seconds
        try:
            while replay_registered(
                session_factory=self._factory, registry=self.registry, writer=self.writer
            ):
                pass
        except (StoreUnavailableError, SQLAlchemyError) as err:
            log.warning("quarantine_replay_failed", error=str(err))

    def _probe_store(self) -> None:
        """The circuit is open but nothing is spooled: close it once the store answers again."""
        try:
            self.writer.write_readings([])
        except StoreUnavailableError:
            return
        self._store_failed_at = None
        metrics.STORE_UP.set(1)

    # --- lifecycle ---
    def start(self) -> None:
        """Load devices, connect and start the writer."""
        self.devices.reload()
        self._mqtt.start()
        self._thread.start()
        self._drainer.start()
        self._spool_gauges()
        metrics.STORE_UP.set(1)
        log.info("collector_started", pid=os.getpid(), batch_size=self.settings.collector_batch_size)

    def wait_connected(self, timeout: float) -> bool:
        """Block until subscribed to the broker."""
        return self._connected.wait(timeout)

    def health(self) -> dict[str, bool]:
        """Broker connected; store reachable (or down for less than the setting); spool not nearly full."""
        down_for = 0.0 if self._store_failed_at is None else time.monotonic() - self._store_failed_at
        return {
            "broker": self._connected.is_set(),
            "store": down_for < self.settings.collector_unhealthy_after_seconds,
            "spool": self.spool.fill_ratio < SPOOL_WARN_RATIO,
        }

    def stop(self) -> None:
        """Stop taking messages, finish the batch in hand, disconnect."""
        self._stop.set()
        self._thread.join(timeout=30)
        self._drainer.join(timeout=30)
        self._mqtt.stop()  # after the writer: its last PUBACKs go out before DISCONNECT
        self.spool.close()
        log.info("collector_stopped")


def mqtt_options(settings: Settings, client_id: str, topics: tuple[str, ...]) -> Options:
    """The collector's MQTT session: persistent, QoS 1, the configured broker, protocol and credentials."""
    return Options(
        host=settings.mqtt_host,
        port=settings.mqtt_port,
        client_id=client_id,
        topics=topics,
        protocol=settings.mqtt_protocol,
        username=settings.mqtt_username,
        password=settings.mqtt_password.get_secret_value(),
        persistent=True,
        keepalive_s=KEEPALIVE_S,
        session_expiry_s=SESSION_EXPIRY_S,
        receive_maximum=receive_maximum(settings.collector_batch_size),
        tls=tls_context(settings),
        max_backoff_s=MAX_BACKOFF_S,
    )


def receive_maximum(batch_size: int) -> int:
    """MQTT 5 receive maximum for a batch size: two batches in flight, at least 1,000."""
    return min(MAX_RECEIVE_MAXIMUM, max(MIN_RECEIVE_MAXIMUM, 2 * batch_size))
