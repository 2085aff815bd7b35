"""Maintenance tickets (work orders), opened by rules or by people."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cityhall.db import Base, UTCDateTime, utcnow
from cityhall.models.alarms import Alarm
from cityhall.models.assets import Device
from cityhall.models.types import str_enum


class TicketStatus(StrEnum):
    """Work-order states; allowed moves are in cityhall.maintenance.TICKET_TRANSITIONS."""

    OPEN = "open"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    ON_HOLD = "on_hold"
    DONE = "done"
    CANCELLED = "cancelled"


class TicketPriority(StrEnum):
    """Priority, from the alarm's severity or the requester's choice."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class TicketSource(StrEnum):
    """Who opened the ticket."""

    RULE = "rule"
    REQUEST = "request"
    SCHEDULE = "schedule"  # a preventive-maintenance occurrence of a MaintenanceSchedule


class Trade(StrEnum):
    """The kind of work, which decides the crew."""

    ELECTRICAL = "electrical"
    PLUMBING = "plumbing"
    HVAC = "hvac"
    GENERAL = "general"


class Ticket(Base):
    """A repair or maintenance job."""

    __tablename__ = "tickets"
    # One ticket per schedule occurrence makes generate_due_jobs idempotent even across racing runners.
    __table_args__ = (
        UniqueConstraint("schedule_id", "scheduled_for", name="uq_tickets_schedule_occurrence"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[TicketStatus] = mapped_column(
        str_enum(TicketStatus), default=TicketStatus.OPEN, index=True
    )
    priority: Mapped[TicketPriority] = mapped_column(str_enum(TicketPriority), default=TicketPriority.NORMAL)
    source: Mapped[TicketSource] = mapped_column(str_enum(TicketSource))
    alarm_id: Mapped[int | None] = mapped_column(ForeignKey("alarms.id", ondelete="SET NULL"), unique=True)
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id", ondelete="SET NULL"), index=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    reported_by: Mapped[str] = mapped_column(String(120))
    hold_reason: Mapped[str | None] = mapped_column(String(500))
    resolution_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)  # SLA, in business hours
    # The alarm cleared before work started: a person confirms (start anyway or cancel) instead of auto-close.
    needs_confirmation: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    trade: Mapped[Trade] = mapped_column(str_enum(Trade), default=Trade.GENERAL, server_default="general")
    crew_id: Mapped[int | None] = mapped_column(ForeignKey("crews.id", ondelete="SET NULL"), index=True)
    schedule_id: Mapped[int | None] = mapped_column(
        ForeignKey("maintenance_schedules.id", ondelete="SET NULL")
    )
    scheduled_for: Mapped[datetime | None] = mapped_column(UTCDateTime())

    alarm: Mapped[Alarm | None] = relationship()
    device: Mapped[Device | None] = relationship()


class TicketNote(Base):
    """A work note on a ticket, with the time spent on it."""

    __tablename__ = "ticket_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    author: Mapped[str] = mapped_column(String(120))
    text: Mapped[str] = mapped_column(Text)
    time_spent_minutes: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class TicketPhoto(Base):
    """A photo of the job; the bytes live in the database so a backup holds the whole ticket."""

    __tablename__ = "ticket_photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
