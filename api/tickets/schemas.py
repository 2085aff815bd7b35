"""Ticket (work order) schemas."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from cityhall.models import TicketPriority, TicketSource, TicketStatus


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


class TicketCreate(BaseModel):
    """An online repair request; `device_code` is the code on the device's label, if known."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=5000)
    priority: TicketPriority = TicketPriority.NORMAL
    device_code: str | None = Field(None, min_length=1, max_length=64)


class TicketUpdate(BaseModel):
    """A move along the lifecycle and/or a (re)assignment; `hold_reason` is required for on_hold."""

    model_config = ConfigDict(extra="forbid")

    status: TicketStatus | None = None
    note: str | None = Field(None, max_length=5000)
    hold_reason: str | None = Field(None, min_length=1, max_length=500)
    assignee_id: int | None = None
