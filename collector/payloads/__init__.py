"""Payload decoders, one module per device family; the first decoder whose topic matches decodes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from cityhall.contract import PayloadError, Reading
from collector.payloads.native import NativeDecoder


class Decoder(Protocol):
    """Turns one MQTT message into readings, or raises PayloadError with a reason."""

    name: str

    def matches(self, topic: str) -> bool:
        """True when this decoder owns the topic."""

    def decode(self, topic: str, payload: bytes) -> list[Reading]:
        """Readings in the message, units normalised to the catalogue."""


@dataclass(frozen=True, slots=True)
class DecoderRegistry:
    """The decoders the collector tries, in order."""

    decoders: tuple[Decoder, ...]

    def decode(self, topic: str, payload: bytes) -> list[Reading]:
        """Decode with the first decoder that owns the topic."""
        for decoder in self.decoders:
            if decoder.matches(topic):
                return decoder.decode(topic, payload)
        raise PayloadError(f"no decoder for topic {topic!r}")


def default_registry(topic_prefix: str) -> DecoderRegistry:
    """Decoders for every supported device family."""
    return DecoderRegistry((NativeDecoder(topic_prefix),))
