"""Alarms raised by rules: one open alarm per (rule, device)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Float, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cityhall.db import Base, UTCDateTime, utcnow
from cityhall.models.assets import Device
from cityhall.models.types import str_enum


class AlarmState(StrEnum):
    """Whether the condition still holds."""

    ACTIVE = "active"
    CLEARED = "cleared"


class Severity(StrEnum):
    """How urgent; maps to ticket priority."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class Alarm(Base):
    """A rule's finding on a device, from raise to clear."""

    __tablename__ = "alarms"
    __table_args__ = (
        # The database, not only the code, guarantees one open alarm per (rule, device).
        Index(
            "uq_alarms_open_rule_device",
            "rule_key",
            "device_id",
            unique=True,
            sqlite_where=text("state = 'active'"),
            postgresql_where=text("state = 'active'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_key: Mapped[str] = mapped_column(String(64), index=True)
    rule_name: Mapped[str] = mapped_column(String(200))
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="RESTRICT"), index=True)
    state: Mapped[AlarmState] = mapped_column(str_enum(AlarmState), default=AlarmState.ACTIVE)
    severity: Mapped[Severity] = mapped_column(str_enum(Severity))
    quantity: Mapped[str] = mapped_column(String(32))
    unit: Mapped[str] = mapped_column(String(16))
    threshold: Mapped[float] = mapped_column(Float)
    trigger_value: Mapped[float] = mapped_column(Float)
    message: Mapped[str] = mapped_column(String(500))
    condition_since: Mapped[datetime] = mapped_column(UTCDateTime())
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acknowledged_by: Mapped[str | None] = mapped_column(String(120))
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    device: Mapped[Device] = relationship()
