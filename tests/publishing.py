"""Publishing to a throwaway broker as devices do: QoS 1, each message done once the broker acknowledged it."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from cityhall.contract import encode_native, readings_topic
from tests.waiting import PATIENCE_S


def publish(host: str, port: int, messages: Sequence[tuple[str, bytes]], *, client_id: str = "") -> None:
    """Publish (topic, payload) pairs with QoS 1 and wait until the broker has acknowledged every one."""
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=client_id or f"test-pub-{time.monotonic_ns()}"
    )
    client.connect(host, port)
    client.loop_start()
    try:
        infos = [client.publish(topic, payload, qos=1) for topic, payload in messages]
        for info in infos:
            info.wait_for_publish(timeout=PATIENCE_S)
            assert info.is_published(), f"the broker did not acknowledge message {info.mid}"
    finally:
        client.disconnect()
        client.loop_stop()


def publish_series(
    host: str, port: int, prefix: str, device: str, points: Sequence[tuple[datetime, dict[str, float]]]
) -> None:
    """Publish one device's readings as native payloads (see `publish`)."""
    messages = [(readings_topic(prefix, device), encode_native(device, ts, values)) for ts, values in points]
    publish(host, port, messages, client_id=f"test-pub-{device}-{time.monotonic_ns()}")
