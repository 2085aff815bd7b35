"""A QoS 1 publisher for fault tests: paced, with a persistent session so a broker restart loses nothing,
and counting broker acknowledgements (PUBACK) rather than trusting publish() return codes."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from tests.waiting import PATIENCE_S, wait_for


class Stream:
    """Publishes messages at a steady rate in a thread; `wait_acked` blocks until the broker has them all."""

    def __init__(
        self,
        host: str,
        port: int,
        messages: Sequence[tuple[str, bytes]],
        *,
        rate_per_s: float,
        client_id: str,
    ) -> None:
        self.messages = messages
        self.rate_per_s = rate_per_s
        self.sent = 0
        self._acked = 0
        self._lock = threading.Lock()
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False)
        self._client.max_inflight_messages_set(200)
        self._client.max_queued_messages_set(0)
        self._client.reconnect_delay_set(min_delay=1, max_delay=2)
        self._client.on_publish = self._on_publish
        self._client.connect(host, port)
        self._client.loop_start()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _on_publish(self, _c: mqtt.Client, _u: Any, mid: int, _rc: Any, _p: Any) -> None:
        with self._lock:
            self._acked += 1  # one PUBACK per message; a resent message is acknowledged once

    def _run(self) -> None:
        started = time.monotonic()
        for i, (topic, payload) in enumerate(self.messages):
            self._client.publish(topic, payload, qos=1)
            self.sent = i + 1
            ahead = started + (i + 1) / self.rate_per_s - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)

    def start(self) -> Stream:
        """Begin publishing."""
        self._thread.start()
        return self

    def wait_sent(self, count: int) -> None:
        """Block until `count` messages have been handed to the client."""
        wait_for(lambda: self.sent >= count, what=f"{count} messages sent", interval=0.05)

    def wait_acked(self) -> None:
        """Block until the broker has acknowledged every message, then disconnect."""
        self._thread.join(PATIENCE_S)

        def all_acked() -> bool:
            with self._lock:
                return self._acked >= len(self.messages)

        wait_for(all_acked, what=f"the broker to acknowledge all {len(self.messages)} messages")
        self._client.disconnect()
        self._client.loop_stop()
