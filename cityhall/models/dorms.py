"""Dormitory rooms (VenueResource of kind dorm_room): assignments, housekeeping, inspections, repairs."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cityhall.db import Base, UTCDateTime, utcnow
from cityhall.models.tickets import Ticket
from cityhall.models.types import str_enum
from cityhall.models.users import User
from cityhall.models.venues import VenueResource


class CleaningStatus(StrEnum):
    """The room cycle of hotel housekeeping: dirty -> cleaning -> clean -> inspected."""

    DIRTY = "dirty"
    CLEANING = "cleaning"
    CLEAN = "clean"
    INSPECTED = "inspected"


class DormAssignment(Base):
    """A staff member living in a dormitory room from `starts_on` until `ends_on` (exclusive; None: open)."""

    __tablename__ = "dorm_assignments"
    __table_args__ = (CheckConstraint("ends_on IS NULL OR ends_on > starts_on", name="ends_after_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(
        ForeignKey("venue_resources.id", ondelete="RESTRICT"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    room: Mapped[VenueResource] = relationship()
    user: Mapped[User] = relationship()


class HousekeepingPlan(Base):
    """Recurring cleaning: an RFC 5545 RRULE from `dtstart` for one room or (resource_id None) every room."""

    __tablename__ = "dorm_housekeeping_plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    resource_id: Mapped[int | None] = mapped_column(ForeignKey("venue_resources.id", ondelete="CASCADE"))
    rrule: Mapped[str] = mapped_column(String(500))
    dtstart: Mapped[datetime] = mapped_column(UTCDateTime())
    next_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)  # None: series ended
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class HousekeepingTask(Base):
    """One cleaning of one room, from a plan's occurrence (or made by hand), moving through CleaningStatus."""

    __tablename__ = "dorm_housekeeping_tasks"
    __table_args__ = (
        # One task per (plan, room, occurrence): generating tasks twice is harmless.
        UniqueConstraint(
            "plan_id", "resource_id", "scheduled_for", name="uq_dorm_housekeeping_tasks_occurrence"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("dorm_housekeeping_plans.id", ondelete="SET NULL"))
    resource_id: Mapped[int] = mapped_column(ForeignKey("venue_resources.id", ondelete="CASCADE"), index=True)
    scheduled_for: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    status: Mapped[CleaningStatus] = mapped_column(str_enum(CleaningStatus), default=CleaningStatus.DIRTY)
    updated_by: Mapped[str | None] = mapped_column(String(120))
    cleaned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    room: Mapped[VenueResource] = relationship()


class Inspection(Base):
    """A room inspection against a checklist: `items` is a list of {item, ok, note}; passed when all ok."""

    __tablename__ = "dorm_inspections"

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("venue_resources.id", ondelete="CASCADE"), index=True)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("dorm_housekeeping_tasks.id", ondelete="SET NULL"))
    inspector: Mapped[str] = mapped_column(String(120))
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    passed: Mapped[bool] = mapped_column(Boolean)
    inspected_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class DormRepair(Base):
    """A room repair done as a maintenance Ticket; while the ticket is open the room takes no one new."""

    __tablename__ = "dorm_repairs"

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("venue_resources.id", ondelete="CASCADE"), index=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    ticket: Mapped[Ticket] = relationship()
