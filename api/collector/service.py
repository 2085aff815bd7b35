"""Queries over the collector's dead letters."""

from __future__ import annotations

from sqlalchemy import Select, select

from cityhall.models import DeadLetter


def dead_letters_query(*, topic: str | None = None, device: str | None = None) -> Select[DeadLetter]:
    """Dead letters, newest first, optionally of one topic or device."""
    stmt = select(DeadLetter).order_by(DeadLetter.received_at.desc(), DeadLetter.id.desc())
    if topic is not None:
        stmt = stmt.where(DeadLetter.topic == topic)
    if device is not None:
        stmt = stmt.where(DeadLetter.device == device)
    return stmt
