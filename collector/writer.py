"""Turning a batch of MQTT messages into stored readings and dead letters."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import structlog
from sqlalchemy.orm import Session, sessionmaker

from cityhall.contract import PayloadError, Reading
from cityhall.db import transaction
from cityhall.models import DeadLetter, DeadLetterCategory
from cityhall.timeseries import ReadingStore
from collector import metrics
from collector.devices import DeviceDirectory
from collector.payloads import DecoderRegistry

log = structlog.get_logger(__name__)


class UnknownDeviceError(PayloadError):
    """The payload is fine but its device is not in the asset register: quarantine it for replay."""


@dataclass(frozen=True, slots=True)
class Message:
    """An MQTT message as received, with what the broker needs to have it acknowledged."""

    mid: int
    qos: int
    topic: str
    payload: bytes


@dataclass(slots=True)
class BatchResult:
    """What one batch became."""

    readings: list[Reading] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)


class BatchWriter:
    """Decodes, checks devices, writes readings, keeps dead letters; raises if the store is unavailable."""

    def __init__(
        self,
        *,
        registry: DecoderRegistry,
        devices: DeviceDirectory,
        store: ReadingStore,
        session_factory: sessionmaker[Session],
    ) -> None:
        self._registry = registry
        self.devices = devices
        self._store = store
        self._factory = session_factory

    def triage(self, batch: Sequence[Message]) -> BatchResult:
        """Split a batch into valid readings and dead letters, each with its reason."""
        result = BatchResult()
        for msg in batch:
            readings: list[Reading] = []
            try:
                readings = self._registry.decode(msg.topic, msg.payload)  # kept: names the device if refused
                readings = self.registered_readings(msg.topic, readings)
            except PayloadError as err:
                unknown = isinstance(err, UnknownDeviceError)
                result.dead_letters.append(
                    DeadLetter(
                        topic=msg.topic,
                        payload=msg.payload,
                        reason=err.reason[:500],
                        device=readings[0].device if readings else None,
                        category=DeadLetterCategory.UNKNOWN_DEVICE
                        if unknown
                        else DeadLetterCategory.MALFORMED,
                        received_at=datetime.now(UTC),
                    )
                )
                if unknown:
                    metrics.QUARANTINED.inc()
                else:
                    metrics.DEAD_LETTERED.labels(reason=err.reason.split(":", 1)[0][:40]).inc()
                continue
            result.readings.extend(readings)
        return result

    def registered_readings(self, topic: str, readings: list[Reading]) -> list[Reading]:
        """Check the readings against the register; for families that report everything they measure,
        first drop the quantities the device is not registered for."""
        if self._registry.decoder_for(topic).reports_all_quantities:
            kept = [
                r
                for r in readings
                if self.devices.lookup(r.device) is None or self.devices.measures(r.device, r.quantity)
            ]
            if len(kept) < len(readings):
                metrics.UNREGISTERED_QUANTITIES.inc(len(readings) - len(kept))
            readings = kept
        self.check_registered(readings)
        return readings

    def check_registered(self, readings: Sequence[Reading]) -> None:
        """Raise unless every reading's device is registered and measures that quantity."""
        for r in readings:
            if self.devices.lookup(r.device) is None:
                raise UnknownDeviceError(
                    f"device: unknown device {r.device!r} (register it in the asset register)"
                )
            if not self.devices.measures(r.device, r.quantity):
                raise PayloadError(f"values.{r.quantity}: device {r.device!r} does not measure {r.quantity}")

    def write_readings(self, readings: list[Reading]) -> None:
        """Write readings to the store; raises StoreUnavailableError (nothing acknowledged yet)."""
        if not readings:
            return
        started = time.perf_counter()
        self._store.write(readings, self.devices.tags())
        metrics.WRITE_SECONDS.observe(time.perf_counter() - started)
        metrics.BATCH_SIZE.observe(len(readings))
        metrics.WRITTEN.inc(len(readings))
        now = datetime.now(UTC)
        for r in readings[:: max(1, len(readings) // 20)]:  # a sample keeps this cheap
            metrics.LAG_SECONDS.observe(max(0.0, (now - r.ts).total_seconds()))

    def write_dead_letters(self, dead_letters: list[DeadLetter]) -> None:
        """Keep dead letters in the SQL database."""
        if not dead_letters:
            return
        with transaction(self._factory) as session:
            session.add_all(dead_letters)
        log.info("dead_letters_kept", count=len(dead_letters), first=dead_letters[0].reason)
