"""SQL storage for readings (the embedded default when no InfluxDB is configured) and dead letters."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Float, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from cityhall.db import Base, UTCDateTime, utcnow
from cityhall.models.types import str_enum


class ReadingRow(Base):
    """One reading; the primary key makes a redelivered reading overwrite itself instead of doubling."""

    __tablename__ = "readings"

    device: Mapped[str] = mapped_column(String(64), primary_key=True)
    quantity: Mapped[str] = mapped_column(String(32), primary_key=True)
    ts: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    value: Mapped[float] = mapped_column(Float)


class DeadLetterCategory(StrEnum):
    """Why a message was kept aside."""

    MALFORMED = "malformed"  # cannot become readings as sent
    UNKNOWN_DEVICE = "unknown_device"  # quarantined: replayed once the device is registered


class DeadLetter(Base):
    """A message the collector could not turn into readings, kept with the reason."""

    __tablename__ = "dead_letters"
    __table_args__ = (Index("ix_dead_letters_quarantine", "category", "replayed_at", "device"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    topic: Mapped[str] = mapped_column(String(300))
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    reason: Mapped[str] = mapped_column(String(500))
    device: Mapped[str | None] = mapped_column(String(64), index=True)
    category: Mapped[DeadLetterCategory] = mapped_column(
        str_enum(DeadLetterCategory), default=DeadLetterCategory.MALFORMED, server_default="malformed"
    )
    replayed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
