"""Replaying quarantined messages: once their device is registered, they become readings after all."""

from __future__ import annotations

from datetime import UTC, datetime

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cityhall.contract import PayloadError
from cityhall.db import transaction
from cityhall.models import DeadLetter, DeadLetterCategory, Device
from collector import metrics
from collector.payloads import DecoderRegistry
from collector.writer import BatchWriter, UnknownDeviceError

log = structlog.get_logger(__name__)
REPLAY_BATCH = 1000


def replay_registered(
    *, session_factory: sessionmaker[Session], registry: DecoderRegistry, writer: BatchWriter
) -> int:
    """Re-decode quarantined messages whose device is now registered, store their readings, mark them
    replayed; returns how many were replayed. Raises StoreUnavailableError with nothing marked."""
    with transaction(session_factory) as session:
        letters = list(
            session.scalars(
                select(DeadLetter)
                .join(Device, Device.code == DeadLetter.device)
                .where(
                    DeadLetter.category == DeadLetterCategory.UNKNOWN_DEVICE, DeadLetter.replayed_at.is_(None)
                )
                .order_by(DeadLetter.id)
                .limit(REPLAY_BATCH)
            )
        )
        if not letters:
            return 0
        writer.devices.reload()  # the join says these devices are registered now; the cache may not know yet
        readings = []
        replayed = 0
        now = datetime.now(UTC)
        for letter in letters:
            try:
                decoded = writer.registered_readings(
                    letter.topic, registry.decode(letter.topic, letter.payload)
                )
            except UnknownDeviceError:
                continue  # e.g. deactivated again meanwhile: stays in quarantine
            except PayloadError as err:
                # Registered now, but still not usable (e.g. a quantity the device does not measure).
                letter.category = DeadLetterCategory.MALFORMED
                letter.reason = err.reason[:500]
                continue
            readings.extend(decoded)
            letter.replayed_at = now
            replayed += 1
        writer.write_readings(readings)  # before the commit: a failure leaves every letter pending
    metrics.REPLAYED.inc(replayed)
    log.info(
        "quarantine_replayed", messages=replayed, readings=len(readings), still_bad=len(letters) - replayed
    )
    return replayed
