"""Our native JSON format (docs/mqtt.md): `<prefix>/readings/<device>` with {device, ts, values}."""

from __future__ import annotations

from datetime import datetime

from cityhall.contract import PayloadError, Reading, decode_native, readings_subscription


class NativeDecoder:
    """Decoder for the native JSON payload."""

    name = "native"
    reports_all_quantities = False  # a native payload names exactly what the device measures

    def __init__(self, topic_prefix: str) -> None:
        self._head = f"{topic_prefix}/readings/"
        self.subscriptions: tuple[str, ...] = (readings_subscription(topic_prefix),)

    def matches(self, topic: str) -> bool:
        """Native readings topics."""
        return topic.startswith(self._head)

    def decode(self, topic: str, payload: bytes, *, now: datetime | None = None) -> list[Reading]:
        """Validate and split into readings; the topic and payload must name the same device. `now` is the
        time "in the future" is judged against (default: the clock)."""
        readings = decode_native(payload, now=now)
        topic_device = topic[len(self._head) :]
        if readings and readings[0].device != topic_device:
            raise PayloadError(
                f"device: payload names {readings[0].device!r} but topic names {topic_device!r}"
            )
        return readings
