"""Turning a batch of MQTT messages into stored readings and dead letters."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
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
from collector.mqttwire import Message
from collector.payloads import Decoder, DecoderRegistry

log = structlog.get_logger(__name__)


class UnknownDeviceError(PayloadError):
    """The payload is fine but its device is not in the asset register: quarantine it for replay."""


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
        registry = self._registry
        now = registry.clock()  # once per batch: checking a reading against "now" needs no finer clock
        known = self.devices.current_quantities()  # likewise the register's age
        for msg in batch:
            readings: list[Reading] = []
            try:
                decoder = registry.decoder_for(msg.topic)
                readings = registry.decode_with(decoder, msg.topic, msg.payload, now=now)  # names the device
                if decoder.reports_all_quantities:
                    readings = self._registered(decoder, readings, known)
                else:  # the common case, without the extra call (the hot path)
                    self.check_registered(readings, known)
            except PayloadError as err:
                result.dead_letters.append(self._dead_letter(msg, err, readings))
                continue
            result.readings.extend(readings)
        return result

    @staticmethod
    def _dead_letter(msg: Message, err: PayloadError, readings: list[Reading]) -> DeadLetter:
        """The dead letter of a refused message; unknown devices are quarantined for replay."""
        unknown = isinstance(err, UnknownDeviceError)
        if unknown:
            metrics.QUARANTINED.inc()
        else:
            metrics.DEAD_LETTERED.labels(reason=err.reason.split(":", 1)[0][:40]).inc()
        return DeadLetter(
            topic=msg.topic,
            payload=msg.payload,
            reason=err.reason[:500],
            device=readings[0].device if readings else None,
            category=DeadLetterCategory.UNKNOWN_DEVICE if unknown else DeadLetterCategory.MALFORMED,
            received_at=datetime.now(UTC),
        )

    def registered_readings(self, topic: str, readings: list[Reading]) -> list[Reading]:
        """Check the readings against the register; for families that report everything they measure,
        first drop the quantities the device is not registered for."""
        return self._registered(self._registry.decoder_for(topic), readings)

    def _registered(
        self, decoder: Decoder, readings: list[Reading], known: Mapping[str, frozenset[str]] | None = None
    ) -> list[Reading]:
        if decoder.reports_all_quantities:
            kept = [
                r
                for r in readings
                if self.devices.lookup(r.device) is None or self.devices.measures(r.device, r.quantity)
            ]
            if len(kept) < len(readings):
                metrics.UNREGISTERED_QUANTITIES.inc(len(readings) - len(kept))
            readings = kept
        self.check_registered(readings, known)
        return readings

    def check_registered(
        self, readings: Sequence[Reading], known: Mapping[str, frozenset[str]] | None = None
    ) -> None:
        """Raise unless every reading's device is registered and measures that quantity. `known` is the
        register as triage reads it once a batch (DeviceDirectory.current_quantities); a code missing from
        it is looked up again, which reloads the register (at most every 5 s)."""
        if known is None:
            known = self.devices.current_quantities()
        for r in readings:
            quantities = known.get(r.device)
            if quantities is None:
                quantities = self.devices.quantities(r.device)
            if quantities is None:
                raise UnknownDeviceError(
                    f"device: unknown device {r.device!r} (register it in the asset register)"
                )
            if r.quantity not in quantities:
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
