"""Crew and preventive-maintenance schedule schemas."""

from __future__ import annotations

from pydantic import AliasPath, AwareDatetime, BaseModel, ConfigDict, Field

from cityhall.models import TicketPriority, Trade


class CrewCreate(BaseModel):
    """A crew: members are maintenance_crew users; it takes tickets of its trades in its buildings."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    trades: list[Trade] = Field(min_length=1)
    member_ids: list[int] = Field(default_factory=list)
    building_ids: list[int] = Field(default_factory=list)


class CrewUpdate(BaseModel):
    """Fields to change; omitted ones stay."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=100)
    trades: list[Trade] | None = Field(None, min_length=1)
    member_ids: list[int] | None = None
    building_ids: list[int] | None = None
    is_active: bool | None = None


class CrewRead(BaseModel):
    """A crew."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    trades: list[Trade]
    is_active: bool
    member_ids: list[int]
    building_ids: list[int]


class ScheduleCreate(BaseModel):
    """A recurring preventive-maintenance job; `rrule` is an RFC 5545 RRULE, in Taipei time from `dtstart`."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=5000)
    rrule: str = Field(min_length=1, max_length=500, examples=["FREQ=MONTHLY;BYDAY=1MO;BYHOUR=9;BYMINUTE=0"])
    dtstart: AwareDatetime
    device_id: int | None = Field(None, ge=1, le=2**31 - 1)
    space_id: int | None = Field(None, ge=1, le=2**31 - 1)
    trade: Trade = Trade.GENERAL
    priority: TicketPriority = TicketPriority.NORMAL
    shelve_minutes: int | None = Field(
        None,
        ge=1,
        le=7 * 24 * 60,
        description="planned work: shelve the device's (or the space's devices') alarms for this many "
        "minutes from each occurrence (a meter swap, a service visit); none: shelve nothing",
    )


class ScheduleUpdate(BaseModel):
    """Fields to change; a new rrule or dtstart recomputes `next_due_at`."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=5000)
    rrule: str | None = Field(None, min_length=1, max_length=500)
    dtstart: AwareDatetime | None = None
    trade: Trade | None = None
    priority: TicketPriority | None = None
    is_active: bool | None = None
    shelve_minutes: int | None = Field(None, ge=1, le=7 * 24 * 60)


class ScheduleRead(BaseModel):
    """A preventive-maintenance schedule; `next_due_at` is None once the series has ended."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    description: str
    rrule: str
    dtstart: AwareDatetime
    device_id: int | None
    space_id: int | None
    device_code: str | None = Field(None, validation_alias=AliasPath("device", "code"))
    trade: Trade
    priority: TicketPriority
    next_due_at: AwareDatetime | None
    is_active: bool
    shelve_minutes: int | None
    created_by: str
    created_at: AwareDatetime
