"""Payload decoders, one module per device family; the first decoder whose topic matches decodes.

Every decoder's readings pass the same checks here (catalogue quantity, range, not in the future), so a
family's decoder cannot let through what the native contract would refuse.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Protocol
from zoneinfo import ZoneInfo

from cityhall.contract import MAX_FUTURE, QUANTITIES, PayloadError, Reading
from cityhall.settings import COLLECTOR_FORMATS, Settings
from collector.payloads.native import NativeDecoder
from collector.payloads.shelly import ShellyGen2Decoder
from collector.payloads.tasmota import TasmotaDecoder


class Decoder(Protocol):
    """Turns one MQTT message into readings, or raises PayloadError with a reason."""

    name: str
    # True for device families that send every value they have: quantities the asset register does not list
    # for the device are dropped (and counted) instead of refusing the whole message.
    reports_all_quantities: bool
    # MQTT topic filters this decoder needs the collector to subscribe to (before any $share/ wrapping).
    subscriptions: tuple[str, ...]

    def matches(self, topic: str) -> bool:
        """True when this decoder owns the topic."""

    def decode(self, topic: str, payload: bytes) -> list[Reading]:
        """Readings in the message, units normalised to the catalogue."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


def check_reading(reading: Reading, *, now: datetime) -> None:
    """Refuse a reading the native contract would refuse: unknown quantity, out of range, in the future."""
    quantity = QUANTITIES.get(reading.quantity)
    if quantity is None:
        raise PayloadError(f"values: unknown quantity {reading.quantity!r}")
    value = reading.value
    # NaN compares false with everything, so it is tested on its own.
    if math.isnan(value) or not quantity.minimum <= value <= quantity.maximum:
        raise PayloadError(
            f"values.{quantity.key}: {quantity.key}={value} {quantity.unit} is outside "
            f"{quantity.minimum}..{quantity.maximum}"
        )
    if reading.ts.tzinfo is None:
        raise PayloadError("ts: timestamp needs a UTC offset")
    if reading.ts > now + MAX_FUTURE:
        raise PayloadError(f"ts: {reading.ts.isoformat()} is more than 5 minutes in the future")


@dataclass(frozen=True, slots=True)
class DecoderRegistry:
    """The decoders the collector tries, in order."""

    decoders: tuple[Decoder, ...]
    clock: Callable[[], datetime] = field(default=_utc_now, compare=False)

    @property
    def subscriptions(self) -> tuple[str, ...]:
        """Every topic filter the decoders need, each once, in decoder order."""
        return tuple(dict.fromkeys(f for decoder in self.decoders for f in decoder.subscriptions))

    def decoder_for(self, topic: str) -> Decoder:
        """The first decoder that owns the topic."""
        for decoder in self.decoders:
            if decoder.matches(topic):
                return decoder
        raise PayloadError(f"no decoder for topic {topic!r}")

    def decode(self, topic: str, payload: bytes) -> list[Reading]:
        """Decode with the first decoder that owns the topic, then check every reading."""
        return self.decode_with(self.decoder_for(topic), topic, payload, now=self.clock())

    @staticmethod
    def decode_with(decoder: Decoder, topic: str, payload: bytes, *, now: datetime) -> list[Reading]:
        """Decode with a decoder already chosen for the topic and check against `now` (a batch reads the
        clock once)."""
        # The native decoder validates with the contract itself (quantity, range, offset, not in the future
        # of the batch's `now`): checking again would only repeat it. Every other decoder, including one that
        # forgot the catalogue, is checked here.
        if type(decoder) is NativeDecoder:
            return decoder.decode(topic, payload, now=now)
        readings = decoder.decode(topic, payload)
        for reading in readings:
            check_reading(reading, now=now)
        return readings


def default_registry(
    topic_prefix: str,
    *,
    formats: Iterable[str] = COLLECTOR_FORMATS,
    device_tz: tzinfo | None = None,
) -> DecoderRegistry:
    """Decoders for the named device families (all by default); native first, as most traffic is native."""
    zone = device_tz or ZoneInfo("Asia/Taipei")
    factories: dict[str, Callable[[], Decoder]] = {
        "native": lambda: NativeDecoder(topic_prefix),
        "tasmota": lambda: TasmotaDecoder(device_tz=zone),
        "shelly_gen2": ShellyGen2Decoder,
    }
    wanted = set(formats)
    unknown = wanted - factories.keys()
    if unknown:
        raise ValueError(f"unknown payload format(s) {sorted(unknown)}; known: {', '.join(factories)}")
    return DecoderRegistry(tuple(factories[name]() for name in factories if name in wanted))


def registry_for(settings: Settings) -> DecoderRegistry:
    """The registry CITYHALL_COLLECTOR_FORMATS and CITYHALL_COLLECTOR_DEVICE_TIMEZONE ask for."""
    return default_registry(
        settings.mqtt_topic_prefix,
        formats=settings.collector_format_names,
        device_tz=ZoneInfo(settings.collector_device_timezone),
    )
