"""Ticket (work order) schemas."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from cityhall.models import TicketPriority, TicketSource, TicketStatus, Trade


class TicketRead(BaseModel):
    """A repair or maintenance job."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    description: str
    status: TicketStatus
    priority: TicketPriority
    source: TicketSource
    alarm_id: int | None
    device_id: int | None
    assignee_id: int | None
    reported_by: str
    hold_reason: str | None
    resolution_note: str | None
    created_at: AwareDatetime
    updated_at: AwareDatetime
    closed_at: AwareDatetime | None
    due_at: AwareDatetime | None = Field(description="SLA due date, in business hours from opening")
    needs_confirmation: bool = Field(description="The alarm cleared before work started; confirm or cancel")
    trade: Trade
    crew_id: int | None
    schedule_id: int | None
    scheduled_for: AwareDatetime | None


class TicketCreate(BaseModel):
    """An online repair request; `device_code` is the code on the device's label, if known."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=5000)
    priority: TicketPriority = TicketPriority.NORMAL
    device_code: str | None = Field(None, min_length=1, max_length=64)
    trade: Trade = Trade.GENERAL


class TicketUpdate(BaseModel):
    """A move along the lifecycle and/or a (re)assignment; `hold_reason` is required for on_hold."""

    model_config = ConfigDict(extra="forbid")

    status: TicketStatus | None = None
    note: str | None = Field(None, max_length=5000)
    hold_reason: str | None = Field(None, min_length=1, max_length=500)
    assignee_id: int | None = None
    crew_id: int | None = None


class NoteCreate(BaseModel):
    """A work note; `time_spent_minutes` is the labour it records."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=5000)
    time_spent_minutes: int = Field(0, ge=0, le=24 * 60)


class NoteRead(BaseModel):
    """A work note on a ticket."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    ticket_id: int
    author: str
    text: str
    time_spent_minutes: int
    created_at: AwareDatetime


class NotesRead(BaseModel):
    """A ticket's notes, oldest first, and the total time spent."""

    items: list[NoteRead]
    time_spent_minutes: int


class PhotoRead(BaseModel):
    """A photo's metadata; download it from `/tickets/{ticket_id}/photos/{id}`."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    ticket_id: int
    filename: str
    content_type: str
    size_bytes: int
    uploaded_by: str
    created_at: AwareDatetime
