"""The collector process: subscribe with QoS 1, batch, write, and only then acknowledge to the broker."""

from __future__ import annotations

import os
import queue
import socket
import threading
import time
from typing import Any

import paho.mqtt.client as mqtt
import structlog
from paho.mqtt.reasoncodes import ReasonCode
from sqlalchemy.orm import Session, sessionmaker

from cityhall.contract import readings_subscription
from cityhall.mqtt import connect, make_client, subscription
from cityhall.settings import Settings
from cityhall.timeseries import ReadingStore, StoreUnavailableError
from collector import metrics
from collector.devices import DeviceDirectory
from collector.payloads import default_registry
from collector.writer import BatchWriter, Message

log = structlog.get_logger(__name__)
# After the first message of a batch, wait this long for more before writing a short batch: the broker only
# sends a limited number of unacknowledged messages, so waiting for a full batch would stall.
LINGER_S = 0.02
MAX_BACKOFF_S = 30.0


class Collector:
    """MQTT -> store with at-least-once delivery: a message is acknowledged only once its data is stored."""

    def __init__(
        self, settings: Settings, *, store: ReadingStore, session_factory: sessionmaker[Session]
    ) -> None:
        self.settings = settings
        self.store = store
        self.client_id = settings.mqtt_client_id or f"cityhall-collector-{socket.gethostname()}"
        self.devices = DeviceDirectory(session_factory)
        self.writer = BatchWriter(
            registry=default_registry(settings.mqtt_topic_prefix),
            devices=self.devices,
            store=store,
            session_factory=session_factory,
        )
        self._inbox: queue.Queue[Message] = queue.Queue()
        self._stop = threading.Event()
        self._connected = threading.Event()
        self._store_ok_at = time.monotonic()
        self._client = make_client(settings, self.client_id, persistent=True, manual_ack=True)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._thread = threading.Thread(target=self._run_writer, name="collector-writer", daemon=True)

    # --- MQTT callbacks (paho's network thread) ---
    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, rc: ReasonCode, _p: Any) -> None:
        if rc.is_failure:
            log.error("mqtt_connect_refused", reason=str(rc))
            return
        topic = subscription(self.settings, readings_subscription(self.settings.mqtt_topic_prefix))
        client.subscribe(topic, qos=1)
        self._connected.set()
        metrics.CONNECTED.set(1)
        log.info("mqtt_connected", client_id=self.client_id, subscription=topic)

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, rc: ReasonCode, _p: Any) -> None:
        self._connected.clear()
        metrics.CONNECTED.set(0)
        if not self._stop.is_set():
            log.warning("mqtt_disconnected", reason=str(rc))

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        metrics.RECEIVED.inc()
        self._inbox.put(Message(msg.mid, msg.qos, msg.topic, bytes(msg.payload)))

    # --- writer thread ---
    def _next_batch(self) -> list[Message]:
        try:
            first = self._inbox.get(timeout=0.5)
        except queue.Empty:
            return []
        batch = [first]
        deadline = time.monotonic() + self.settings.collector_flush_seconds
        while len(batch) < self.settings.collector_batch_size:
            timeout = min(LINGER_S, deadline - time.monotonic())
            if timeout <= 0:
                break
            try:
                batch.append(self._inbox.get(timeout=timeout))
            except queue.Empty:
                break
        return batch

    def _run_writer(self) -> None:
        while not self._stop.is_set() or not self._inbox.empty():
            batch = self._next_batch()
            metrics.QUEUE_DEPTH.set(self._inbox.qsize())
            if not batch:
                continue
            result = self.writer.triage(batch)
            backoff = 0.5
            while True:
                try:
                    self.writer.write(result)
                    self._store_ok_at = time.monotonic()
                    break
                except StoreUnavailableError as err:
                    # Not acknowledged, so nothing is lost: retry; if stopped, the broker redelivers.
                    metrics.WRITE_FAILURES.inc()
                    log.warning(
                        "store_write_failed",
                        error=str(err),
                        retry_in_s=backoff,
                        readings=len(result.readings),
                    )
                    if self._stop.wait(backoff):
                        return
                    backoff = min(backoff * 2, MAX_BACKOFF_S)
                except Exception:
                    log.exception("batch_failed", messages=len(batch))
                    if self._stop.wait(1.0):
                        return
            for msg in batch:
                if msg.qos > 0:
                    self._client.ack(msg.mid, msg.qos)

    # --- lifecycle ---
    def start(self) -> None:
        """Load devices, connect and start the writer."""
        self.devices.reload()
        connect(self._client, self.settings, persistent=True)
        self._client.loop_start()
        self._thread.start()
        log.info("collector_started", pid=os.getpid(), batch_size=self.settings.collector_batch_size)

    def wait_connected(self, timeout: float) -> bool:
        """Block until subscribed to the broker."""
        return self._connected.wait(timeout)

    def health(self) -> dict[str, bool]:
        """Broker connected; store written within the last 60 s or nothing pending."""
        store_ok = self._inbox.empty() or time.monotonic() - self._store_ok_at < 60
        return {"broker": self._connected.is_set(), "store": store_ok}

    def stop(self) -> None:
        """Stop taking messages, finish the batch in hand, disconnect."""
        self._stop.set()
        self._thread.join(timeout=30)
        self._client.disconnect()
        self._client.loop_stop()
        log.info("collector_stopped")
