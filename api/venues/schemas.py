"""Venue booking schemas: resources, bookings, series, citizens' applications, surveys, blackouts, quotas."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from api.users.schemas import EMAIL_PATTERN
from cityhall.models import Audience, BookingStatus, QuotaPeriod, QuotaScope, ResourceKind

Title = Field(min_length=1, max_length=200)
Attendees = Field(ge=1, le=100_000)


class ResourceCreate(BaseModel):
    """A bookable resource; `opening_hours` maps mon..sun to ["HH:MM", "HH:MM"] (None: always open)."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
    name: str = Field(min_length=1, max_length=200)
    kind: ResourceKind
    audience: Audience = Audience.PUBLIC
    site_id: int | None = None
    space_id: int | None = None
    description: str = Field("", max_length=5000)
    capacity_people: int = Field(ge=1, le=100_000)
    equipment: list[str] = Field(default_factory=list, max_length=50)
    fee_per_hour_twd: int = Field(0, ge=0)
    opening_hours: dict[str, list[str]] | None = None
    buffer_minutes: int = Field(0, ge=0, le=24 * 60)
    min_notice_minutes: int = Field(0, ge=0)
    max_duration_minutes: int | None = Field(None, ge=15)
    requires_approval: bool = False
    closed_on_holidays: bool = True
    check_in_required: bool = False
    check_in_grace_minutes: int = Field(15, ge=0, le=240)


class ResourceRead(BaseModel):
    """A bookable resource and its rules."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    kind: ResourceKind
    audience: Audience
    site_id: int | None
    space_id: int | None
    description: str
    capacity_people: int
    equipment: list[str]
    fee_per_hour_twd: int
    opening_hours: dict[str, list[str]] | None
    buffer_minutes: int
    min_notice_minutes: int
    max_duration_minutes: int | None
    requires_approval: bool
    closed_on_holidays: bool
    check_in_required: bool
    check_in_grace_minutes: int
    is_active: bool


class BookingCreate(BaseModel):
    """A staff booking of one slot (times with an offset, e.g. 2026-12-01T14:00:00+08:00)."""

    model_config = ConfigDict(extra="forbid")

    resource_id: int
    title: str = Title
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    attendees: int = Attendees
    department: str = Field("", max_length=100)
    note: str = Field("", max_length=2000)


class SeriesCreate(BaseModel):
    """A recurring booking: an RFC 5545 RRULE with COUNT or UNTIL from `dtstart` (Asia/Taipei wall time)."""

    model_config = ConfigDict(extra="forbid")

    resource_id: int
    title: str = Title
    attendees: int = Attendees
    rrule: str = Field(min_length=5, max_length=500, examples=["FREQ=WEEKLY;BYDAY=TU;COUNT=10"])
    dtstart: AwareDatetime
    duration_minutes: int = Field(ge=15, le=24 * 60)
    exdates: list[AwareDatetime] = Field(default_factory=list, max_length=200)
    free_dates_only: bool = Field(False, description="Book the free dates and skip the others")
    department: str = Field("", max_length=100)
    note: str = Field("", max_length=2000)


class BookerRead(BaseModel):
    """Who booked; shown only to the booker and to venue managers."""

    kind: Literal["staff", "citizen"]
    name: str
    email: str | None
    phone: str | None
    organisation: str


class BookingRead(BaseModel):
    """A booking; `booker` is present only for the booker and for venue managers."""

    id: int
    resource_id: int
    resource_name: str
    series_id: int | None
    status: BookingStatus
    title: str
    attendees: int
    department: str
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    fee_twd: int
    sequence: int
    note: str
    decided_by: str | None
    decided_at: AwareDatetime | None
    decision_note: str | None
    checked_in_at: AwareDatetime | None
    created_at: AwareDatetime
    survey_due: bool = Field(description="The booking is over and its satisfaction survey not yet answered")
    booker: BookerRead | None = None


class SkippedRead(BaseModel):
    """An occurrence left out of a series, and why."""

    starts_at: AwareDatetime
    code: str
    reason: str


class SeriesRead(BaseModel):
    """A booked series: its bookings and the dates skipped."""

    series_id: int
    rrule: str
    bookings: list[BookingRead]
    skipped: list[SkippedRead]


class DecisionCreate(BaseModel):
    """Approve or reject a pending application; a rejection needs a reason for the applicant."""

    model_config = ConfigDict(extra="forbid")

    approve: bool
    note: str | None = Field(None, max_length=500)


class BusySlot(BaseModel):
    """A time a resource is taken, without anyone's personal data."""

    starts_at: AwareDatetime
    ends_at: AwareDatetime
    status: Literal["tentative", "confirmed", "closed"]
    label: str


class ApplicationCreate(BaseModel):
    """A citizen's application for a public venue; the contact details are seen only by venue managers."""

    model_config = ConfigDict(extra="forbid")

    resource_id: int
    title: str = Title
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    attendees: int = Attendees
    note: str = Field("", max_length=2000)
    name: str = Field(min_length=1, max_length=120)
    email: str = Field(max_length=254, pattern=EMAIL_PATTERN)
    phone: str = Field(min_length=6, max_length=32, pattern=r"^[0-9+() -]+$")
    organisation: str = Field("", max_length=200)


class ApplicationCreated(BaseModel):
    """The application and, for a first-time applicant, the private keys (shown once)."""

    booking: BookingRead
    applicant_key: str | None = Field(
        None, description="Send as X-Applicant-Key to see and manage applications"
    )
    feed_url: str | None = Field(None, description="Private iCalendar subscription URL")


class SurveyCreate(BaseModel):
    """How satisfied the booker was, 1 (not at all) to 5 (very)."""

    model_config = ConfigDict(extra="forbid")

    score: int = Field(ge=1, le=5)
    comment: str = Field("", max_length=2000)


class SurveyRead(BaseModel):
    """A recorded survey answer."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    booking_id: int
    score: int
    comment: str
    created_at: AwareDatetime


class BlackoutCreate(BaseModel):
    """Close one resource (or all, with resource_id null) for a period."""

    model_config = ConfigDict(extra="forbid")

    resource_id: int | None = None
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    reason: str = Field(min_length=1, max_length=200)


class BlackoutRead(BaseModel):
    """A blackout period."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    resource_id: int | None
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    reason: str


class QuotaCreate(BaseModel):
    """A limit per person or department per period, on one resource or all."""

    model_config = ConfigDict(extra="forbid")

    resource_id: int | None = None
    scope: QuotaScope
    period: QuotaPeriod
    max_hours: float | None = Field(None, gt=0)
    max_bookings: int | None = Field(None, ge=1)


class QuotaRead(BaseModel):
    """A quota."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    resource_id: int | None
    scope: QuotaScope
    period: QuotaPeriod
    max_hours: float | None
    max_bookings: int | None


class FeedRead(BaseModel):
    """A private calendar subscription URL; a new one replaces the old."""

    feed_url: str
