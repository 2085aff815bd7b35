"""Maintenance crews (who serves which buildings in which trades) and preventive-maintenance schedules."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Column, ForeignKey, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cityhall.db import Base, UTCDateTime, utcnow
from cityhall.models.assets import Building, Device, Space
from cityhall.models.tickets import TicketPriority, Trade
from cityhall.models.types import str_enum
from cityhall.models.users import User

crew_members = Table(
    "crew_members",
    Base.metadata,
    Column("crew_id", ForeignKey("crews.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
)

crew_buildings = Table(
    "crew_buildings",
    Base.metadata,
    Column("crew_id", ForeignKey("crews.id", ondelete="CASCADE"), primary_key=True),
    Column("building_id", ForeignKey("buildings.id", ondelete="CASCADE"), primary_key=True),
)


class Crew(Base):
    """A maintenance crew: its members (maintenance_crew users), trades and the buildings it serves."""

    __tablename__ = "crews"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    trades: Mapped[list[str]] = mapped_column(JSON)  # Trade values
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    members: Mapped[list[User]] = relationship(secondary=crew_members, order_by="User.username")
    buildings: Mapped[list[Building]] = relationship(secondary=crew_buildings, order_by="Building.code")


class MaintenanceSchedule(Base):
    """A recurring preventive-maintenance job; `rrule` is an RFC 5545 RRULE evaluated from `dtstart`."""

    __tablename__ = "maintenance_schedules"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    rrule: Mapped[str] = mapped_column(String(500))
    dtstart: Mapped[datetime] = mapped_column(UTCDateTime())
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id", ondelete="SET NULL"))
    space_id: Mapped[int | None] = mapped_column(ForeignKey("spaces.id", ondelete="SET NULL"))
    trade: Mapped[Trade] = mapped_column(str_enum(Trade), default=Trade.GENERAL)
    priority: Mapped[TicketPriority] = mapped_column(str_enum(TicketPriority), default=TicketPriority.NORMAL)
    next_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)  # None: series ended
    # Planned work: for this many minutes from each occurrence, the alarms of the device (or of every device
    # in the space) are shelved, so a meter swap or a service visit raises no offline or register alarm.
    shelve_minutes: Mapped[int | None] = mapped_column(Integer)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    device: Mapped[Device | None] = relationship()
    space: Mapped[Space | None] = relationship()
