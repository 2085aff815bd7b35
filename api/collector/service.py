"""Queries over the collector's dead letters."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, func, select

from cityhall.models import DeadLetter, DeadLetterCategory, Device


def dead_letters_query(
    *, topic: str | None = None, device: str | None = None, category: DeadLetterCategory | None = None
) -> Select[DeadLetter]:
    """Dead letters, newest first, optionally of one topic, device or category."""
    stmt = select(DeadLetter).order_by(DeadLetter.received_at.desc(), DeadLetter.id.desc())
    if topic is not None:
        stmt = stmt.where(DeadLetter.topic == topic)
    if device is not None:
        stmt = stmt.where(DeadLetter.device == device)
    if category is not None:
        stmt = stmt.where(DeadLetter.category == category)
    return stmt


def quarantine_query() -> Select[str | None, int, datetime, datetime, str | None]:
    """Devices with quarantined messages not yet replayed, most recently heard first, and whether the
    device has been registered since (the collector then replays them, CITYHALL_COLLECTOR_REPLAY_SECONDS)."""
    pending = (
        select(
            DeadLetter.device,
            func.count().label("messages"),
            func.min(DeadLetter.received_at).label("first_seen"),
            func.max(DeadLetter.received_at).label("last_seen"),
        )
        .where(DeadLetter.category == DeadLetterCategory.UNKNOWN_DEVICE, DeadLetter.replayed_at.is_(None))
        .group_by(DeadLetter.device)
        .subquery()
    )
    return (
        select(pending.c.device, pending.c.messages, pending.c.first_seen, pending.c.last_seen, Device.code)
        .outerjoin(Device, Device.code == pending.c.device)
        .order_by(pending.c.last_seen.desc(), pending.c.device)
    )
