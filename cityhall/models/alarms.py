"""Alarms raised by rules: one open alarm per (rule, device)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Float, ForeignKey, Index, Integer, String, text
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
    # Closing is a person's sign-off after the rules engine cleared the alarm; `state` stays "cleared".
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_by: Mapped[str | None] = mapped_column(String(120))
    # Bumped by cityhall.maintenance.escalate_overdue while the alarm stays active and unacknowledged.
    escalation_level: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    device: Mapped[Device] = relationship()

    @property
    def lifecycle(self) -> str:
        """raised -> acknowledged -> cleared -> closed (cleared may come before acknowledgement)."""
        if self.closed_at is not None:
            return "closed"
        if self.state is AlarmState.CLEARED:
            return "cleared"
        return "acknowledged" if self.acknowledged_at is not None else "raised"


# The rule key of a shelf that covers every rule of its device (planned work: cityhall.maintenance).
ANY_RULE = "*"


class AlarmShelf(Base):
    """Maintenance shelving of a (rule, device) pair, or of every rule of a device (`ANY_RULE`): while it
    lasts, raise_alarm creates nothing."""

    __tablename__ = "alarm_shelves"
    __table_args__ = (Index("ix_alarm_shelves_pair", "rule_key", "device_id", "until"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_key: Mapped[str] = mapped_column(String(64))
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    alarm_id: Mapped[int | None] = mapped_column(ForeignKey("alarms.id", ondelete="SET NULL"))
    until: Mapped[datetime] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(String(500))
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # unshelved early by a person
    ended_by: Mapped[str | None] = mapped_column(String(120))


class AlarmEventOutbox(Base):
    """An alarm transition waiting to be written to InfluxDB (measurement alarm_events) for Grafana.

    Written in the transition's own transaction, so an event exists exactly when its transition committed;
    cityhall.maintenance.drain_alarm_events sends pending rows and stamps `published_at`.
    """

    __tablename__ = "alarm_event_outbox"
    __table_args__ = (Index("ix_alarm_event_outbox_pending", "published_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    alarm_id: Mapped[int] = mapped_column(ForeignKey("alarms.id", ondelete="CASCADE"))
    transition: Mapped[str] = mapped_column(String(32))  # raise, acknowledge, clear, close, ...
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    rule_key: Mapped[str] = mapped_column(String(64))
    device_code: Mapped[str] = mapped_column(String(64))
    building_code: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(String(500))
    value: Mapped[float] = mapped_column(Float)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
