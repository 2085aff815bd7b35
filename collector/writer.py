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
from cityhall.models import DeadLetter
from cityhall.timeseries import ReadingStore
from collector import metrics
from collector.devices import DeviceDirectory
from collector.payloads import DecoderRegistry

log = structlog.get_logger(__name__)


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
        self._devices = devices
        self._store = store
        self._factory = session_factory

    def triage(self, batch: Sequence[Message]) -> BatchResult:
        """Split a batch into valid readings and dead letters, each with its reason."""
        result = BatchResult()
        for msg in batch:
            try:
                readings = self._registry.decode(msg.topic, msg.payload)
                for r in readings:
                    if self._devices.lookup(r.device) is None:
                        raise PayloadError(
                            f"device: unknown device {r.device!r} (register it in the asset register)"
                        )
                    if not self._devices.measures(r.device, r.quantity):
                        raise PayloadError(
                            f"values.{r.quantity}: device {r.device!r} does not measure {r.quantity}"
                        )
            except PayloadError as err:
                result.dead_letters.append(
                    DeadLetter(
                        topic=msg.topic,
                        payload=msg.payload,
                        reason=err.reason[:500],
                        device=msg.topic.rsplit("/", 1)[-1][:64],
                        received_at=datetime.now(UTC),
                    )
                )
                metrics.DEAD_LETTERED.labels(reason=err.reason.split(":", 1)[0][:40]).inc()
                continue
            result.readings.extend(readings)
        return result

    def write(self, result: BatchResult) -> None:
        """Store the readings, then the dead letters; only after both may the messages be acknowledged."""
        if result.readings:
            started = time.perf_counter()
            self._store.write(result.readings, self._devices.tags())
            metrics.WRITE_SECONDS.observe(time.perf_counter() - started)
            metrics.BATCH_SIZE.observe(len(result.readings))
            metrics.WRITTEN.inc(len(result.readings))
            now = datetime.now(UTC)
            for r in result.readings[:: max(1, len(result.readings) // 20)]:  # a sample keeps this cheap
                metrics.LAG_SECONDS.observe(max(0.0, (now - r.ts).total_seconds()))
        if result.dead_letters:
            with transaction(self._factory) as session:
                session.add_all(result.dead_letters)
            log.info("dead_letters_kept", count=len(result.dead_letters), first=result.dead_letters[0].reason)
