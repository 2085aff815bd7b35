"""Dormitory schemas: rooms, assignments, cleaning plans and tasks, inspections, repairs, room use."""

from __future__ import annotations

from datetime import date

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from cityhall.models import CleaningStatus, TicketPriority, TicketStatus, Trade


class OccupantRead(BaseModel):
    """Someone holding a bed in the room on the day asked for."""

    assignment_id: int
    user_id: int
    name: str
    starts_on: date
    ends_on: date | None


class RoomRead(BaseModel):
    """A dormitory room and its state on a day: occupants, repair block, cleaning, last inspection."""

    id: int
    code: str
    name: str
    capacity_people: int
    space_id: int | None
    beds_taken: int
    occupants: list[OccupantRead]
    blocked_by_ticket_id: int | None = Field(description="An open repair ticket: no new occupant, no booking")
    cleaning_status: CleaningStatus | None
    last_inspection_passed: bool | None


class AssignmentCreate(BaseModel):
    """A bed for a staff member from `starts_on` until `ends_on` (exclusive; null: open-ended)."""

    model_config = ConfigDict(extra="forbid")

    room_id: int
    user_id: int
    starts_on: date
    ends_on: date | None = None
    note: str = Field("", max_length=2000)


class AssignmentEnd(BaseModel):
    """Move out: the bed is free from `ends_on`."""

    model_config = ConfigDict(extra="forbid")

    ends_on: date


class AssignmentRead(BaseModel):
    """A room assignment."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    resource_id: int
    user_id: int
    starts_on: date
    ends_on: date | None
    note: str
    created_by: str


class OccupancyRead(BaseModel):
    """Beds taken out of beds available, over every room, on a day."""

    on: date
    beds: int
    beds_taken: int
    occupancy_pct: float


class PlanCreate(BaseModel):
    """Recurring cleaning: an RFC 5545 RRULE (Asia/Taipei wall time) for one room or, without room_id, all."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    room_id: int | None = None
    rrule: str = Field(min_length=5, max_length=500, examples=["FREQ=WEEKLY;BYDAY=MO,TH;BYHOUR=10"])
    dtstart: AwareDatetime


class PlanRead(BaseModel):
    """A cleaning plan and its next occurrence (null: the rule has ended)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    resource_id: int | None
    rrule: str
    dtstart: AwareDatetime
    next_due_at: AwareDatetime | None
    is_active: bool


class TaskRead(BaseModel):
    """One cleaning of one room."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    plan_id: int | None
    resource_id: int
    scheduled_for: AwareDatetime
    status: CleaningStatus
    updated_by: str | None
    cleaned_at: AwareDatetime | None


class TaskMove(BaseModel):
    """Move a cleaning task: dirty -> cleaning -> clean (inspected comes from a passed inspection)."""

    model_config = ConfigDict(extra="forbid")

    status: CleaningStatus


class ChecklistItem(BaseModel):
    """One line of an inspection checklist."""

    model_config = ConfigDict(extra="forbid")

    item: str = Field(min_length=1, max_length=200)
    ok: bool
    note: str = Field("", max_length=500)


class InspectionCreate(BaseModel):
    """An inspection of a room against a checklist, optionally of a clean cleaning task."""

    model_config = ConfigDict(extra="forbid")

    room_id: int
    task_id: int | None = None
    items: list[ChecklistItem] = Field(min_length=1, max_length=50)


class InspectionRead(BaseModel):
    """A recorded inspection; passed when every item is ok."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    resource_id: int
    task_id: int | None
    inspector: str
    items: list[ChecklistItem]
    passed: bool
    inspected_at: AwareDatetime


class RepairCreate(BaseModel):
    """Report a room repair: a maintenance ticket that blocks the room until it is done."""

    model_config = ConfigDict(extra="forbid")

    room_id: int
    title: str = Field(min_length=1, max_length=150)
    description: str = Field("", max_length=5000)
    priority: TicketPriority = TicketPriority.NORMAL
    trade: Trade = Trade.GENERAL


class RepairRead(BaseModel):
    """A room repair and its ticket."""

    id: int
    room_id: int
    ticket_id: int
    title: str
    ticket_status: TicketStatus
    blocks_room: bool


class RoomUseRead(BaseModel):
    """A room's electricity and water over a period, from the meters in its space (null: no such meter)."""

    room_id: int
    since: AwareDatetime
    until: AwareDatetime
    energy_kwh: float | None
    water_m3: float | None
