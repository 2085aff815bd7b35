"""Conservation and committee request and response schemas; every amount travels with its `unit`."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from cityhall.models import (
    CommitteeActionStatus,
    ConservationArea,
    MeetingStatus,
    ProgrammeStatus,
    ReviewDecision,
)

DEPARTMENT = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$"
MONTH = r"^\d{4}-(0[1-9]|1[0-2])$"
UNIT = Field(min_length=1, max_length=16, examples=["kWh", "m3", "L", "ream", "sheet", "box"])
Amount = Field(ge=0, le=1e12, allow_inf_nan=False)
Year = Field(ge=2000, le=2100)


# --- targets ---


class TargetValuesWrite(BaseModel):
    """A target's amounts, in `unit` (any unit convertible into the area's: kWh, m3, ream)."""

    model_config = ConfigDict(extra="forbid")

    target_amount: float = Amount
    unit: str = UNIT
    baseline_amount: float | None = Field(None, ge=0, le=1e12, allow_inf_nan=False)
    baseline_year: int | None = Field(None, ge=2000, le=2100)
    note: str = Field("", max_length=2000)


class TargetCreate(TargetValuesWrite):
    """A department's full-year target for one area."""

    department_code: str = Field(pattern=DEPARTMENT, examples=["DBAS"])
    year: int = Year
    area: ConservationArea


class TargetUpdate(TargetValuesWrite):
    """New amounts for a target (department, year and area stay)."""


class TargetRead(BaseModel):
    """A target, in the area's unit."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    department_code: str
    year: int
    area: ConservationArea
    target_amount: float
    unit: str
    baseline_amount: float | None
    baseline_year: int | None
    note: str
    created_by: str
    updated_at: datetime


# --- monthly entries ---


class EntryWrite(BaseModel):
    """One month's consumption of a department and area from one source; the key is (department, area,
    month, source), so posting it again replaces the amount."""

    model_config = ConfigDict(extra="forbid")

    department_code: str = Field(pattern=DEPARTMENT, examples=["DBAS"])
    area: ConservationArea
    month: str = Field(pattern=MONTH, examples=["2026-03"], description="YYYY-MM (Asia/Taipei)")
    amount: float = Amount
    unit: str = UNIT
    source: str = Field(min_length=1, max_length=64, examples=["purchase invoice", "fuel card"])
    note: str = Field("", max_length=2000)


class EntryRead(BaseModel):
    """An entry: the amount in the area's unit, and as it was typed."""

    id: int
    department_code: str
    area: ConservationArea
    month: str
    amount: float
    unit: str
    entered_amount: float
    entered_unit: str
    source: str
    note: str
    entered_by: str
    entered_at: datetime
    outcome: str | None = Field(None, description="on a post: created, replaced or unchanged")


# --- progress ---


class AreaProgressRead(BaseModel):
    """One department's year-to-date consumption of an area against its target, all in `unit`."""

    department: str
    department_name: str
    area: str
    unit: str
    metered: float
    entered: float
    actual: float
    target: float | None
    target_to_date: float | None
    forecast: float | None
    status: str


class ProgressRead(BaseModel):
    """The four areas for every department, year to date."""

    year: int
    through: date
    at_risk_margin_pct: float
    items: list[AreaProgressRead]


# --- meetings and action items ---


class MeetingWrite(BaseModel):
    """A committee meeting; `starts_at` carries its offset (Asia/Taipei is +08:00)."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    starts_at: AwareDatetime = Field(examples=["2026-03-20T14:00:00+08:00"])
    location: str = Field("", max_length=200)
    attendees: list[str] = Field(default_factory=list, max_length=200)


class MeetingUpdate(MeetingWrite):
    """New details for a meeting; `status: cancelled` cancels it, `held` marks it held."""

    status: MeetingStatus | None = None


class MinutesWrite(BaseModel):
    """A meeting's minutes."""

    model_config = ConfigDict(extra="forbid")

    minutes: str = Field(min_length=1, max_length=100_000)


class ActionWrite(BaseModel):
    """An action item: what, who (a user id, or a name), by when."""

    model_config = ConfigDict(extra="forbid")

    description: str = Field(min_length=1, max_length=2000)
    owner_id: int | None = None
    owner_name: str = Field("", max_length=200)
    due_on: date


class ActionDone(BaseModel):
    """What was done."""

    model_config = ConfigDict(extra="forbid")

    outcome: str = Field("", max_length=2000)


class ActionRead(BaseModel):
    """An action item; `overdue` is open past its due date (Asia/Taipei)."""

    id: int
    meeting_id: int
    description: str
    owner_id: int | None
    owner_name: str
    due_on: date
    status: CommitteeActionStatus
    overdue: bool
    done_at: datetime | None
    outcome: str


class MeetingRead(BaseModel):
    """A meeting, its minutes and its action items; `starts_at` in Asia/Taipei."""

    id: int
    title: str
    starts_at: datetime
    location: str
    attendees: list[str]
    minutes: str
    status: MeetingStatus
    created_by: str
    actions: list[ActionRead]


# --- programmes ---


class MeasureWrite(BaseModel):
    """A measure and the saving expected from it per year, in `unit`."""

    model_config = ConfigDict(extra="forbid")

    description: str = Field(min_length=1, max_length=2000)
    area: ConservationArea
    expected_saving: float = Amount
    unit: str = UNIT


class AreaTargetWrite(BaseModel):
    """A programme's baseline and full-year target for one area, in `unit`."""

    model_config = ConfigDict(extra="forbid")

    area: ConservationArea
    baseline_amount: float = Amount
    baseline_year: int = Year
    target_amount: float = Amount
    unit: str = UNIT


class ProgrammeContent(BaseModel):
    """What a programme says."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    summary: str = Field("", max_length=20_000)
    measures: list[MeasureWrite] = Field(default_factory=list, max_length=200)
    area_targets: list[AreaTargetWrite] = Field(default_factory=list, max_length=4)


class ProgrammeCreate(ProgrammeContent):
    """A department's programme for a year; it starts as a draft."""

    department_code: str = Field(pattern=DEPARTMENT, examples=["DBAS"])
    year: int = Year


class MeasureRead(BaseModel):
    """A measure, its saving in the area's unit."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    description: str
    area: ConservationArea
    expected_saving: float
    unit: str


class AreaTargetRead(BaseModel):
    """A programme's baseline and target for an area, in the area's unit."""

    model_config = ConfigDict(from_attributes=True)

    area: ConservationArea
    baseline_amount: float
    baseline_year: int
    target_amount: float
    unit: str


class ReviewWrite(BaseModel):
    """A review: a score out of 100, comments (required to return), approve or return."""

    model_config = ConfigDict(extra="forbid")

    score: int = Field(ge=0, le=100)
    decision: ReviewDecision
    comments: str = Field("", max_length=10_000)
    meeting_id: int | None = None


class ReviewRead(BaseModel):
    """A review of a programme."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    programme_id: int
    meeting_id: int | None
    reviewer_id: int | None
    reviewer: str
    score: int
    comments: str
    decision: ReviewDecision
    reviewed_at: datetime


class ProgrammeRead(BaseModel):
    """A programme with its measures, area targets and reviews."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    department_code: str
    year: int
    title: str
    summary: str
    status: ProgrammeStatus
    created_by: str
    created_at: datetime
    submitted_at: datetime | None
    decided_at: datetime | None
    measures: list[MeasureRead]
    area_targets: list[AreaTargetRead]
    reviews: list[ReviewRead]


class ImportProblemRead(BaseModel):
    """A line of an imported file that was not kept, and the column at fault."""

    line: int
    column: str
    message: str


class EntriesImportRead(BaseModel):
    """What a CSV import did; importing the same file again gives only `unchanged`."""

    rows: int
    created: int
    replaced: int
    unchanged: int
    problems: list[ImportProblemRead]
