"""Training request and response schemas; hours cross the wire as hours (floats), never seconds."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from cityhall.models import (
    ActionStatus,
    CourseCategory,
    Delivery,
    EnrolmentStatus,
    SessionStatus,
    TrainingDuty,
)
from cityhall.training.reports import LicenceState

CODE = r"^[a-z0-9][a-z0-9-]{0,31}$"


class StaffProfileWrite(BaseModel):
    """A person's department, service dates and duty in the training module."""

    model_config = ConfigDict(extra="forbid")

    department_code: str = Field(pattern=CODE, examples=["general-affairs"])
    joined_on: date
    left_on: date | None = None
    duty: TrainingDuty = TrainingDuty.MEMBER


class StaffProfileRead(BaseModel):
    """A person's training profile."""

    model_config = ConfigDict(from_attributes=True)

    user_id: int
    department_code: str
    joined_on: date
    left_on: date | None
    duty: TrainingDuty


class CourseCreate(BaseModel):
    """A course; blended courses credit `digital_share_pct` of their hours as digital learning."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=CODE, examples=["fire-safety-2026"])
    title: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=5000)
    category: CourseCategory
    delivery: Delivery
    digital_share_pct: int = Field(0, ge=0, le=100)
    issues_certificate: bool = False
    certificate_valid_months: int | None = Field(None, ge=1, le=240)
    xapi_activity_id: str | None = Field(None, min_length=3, max_length=500)


class CourseRead(BaseModel):
    """A course."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    title: str
    description: str
    category: CourseCategory
    delivery: Delivery
    digital_share_pct: int
    issues_certificate: bool
    certificate_valid_months: int | None
    xapi_activity_id: str | None
    is_active: bool


class SessionCreate(BaseModel):
    """A session of a course; full attendance credits `credit_hours` (default: its length)."""

    model_config = ConfigDict(extra="forbid")

    course_id: int
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    place: str = Field(min_length=1, max_length=200)
    capacity: int = Field(ge=1, le=10_000)
    instructor: str = Field("", max_length=200)
    credit_hours: float | None = Field(None, gt=0, le=24)


class SessionUpdate(BaseModel):
    """Change a session's seats (more seats promote from the waiting list) or cancel it."""

    model_config = ConfigDict(extra="forbid")

    capacity: int | None = Field(None, ge=1, le=10_000)
    cancelled: bool | None = None


class SessionRead(BaseModel):
    """A session with its course, seats taken and queue length."""

    id: int
    course_id: int
    course_code: str
    course_title: str
    category: CourseCategory
    delivery: Delivery
    starts_at: datetime
    ends_at: datetime
    place: str
    capacity: int
    instructor: str
    credit_hours: float
    status: SessionStatus
    enrolled: int
    waitlisted: int


class EnrolmentCreate(BaseModel):
    """Enrol yourself (no body or no user_id) or, as a manager or officer, someone of yours."""

    model_config = ConfigDict(extra="forbid")

    user_id: int | None = None


class EnrolmentRead(BaseModel):
    """A seat or a place in the queue (`queue_position` from 1, for waitlisted people)."""

    session_id: int
    user_id: int
    status: EnrolmentStatus
    requested_at: datetime
    promoted_at: datetime | None
    queue_position: int | None = None


class CancelResult(BaseModel):
    """A cancelled enrolment and the people promoted into the freed seat."""

    cancelled: EnrolmentRead
    promoted: list[EnrolmentRead]


class AttendanceLineWrite(BaseModel):
    """One person's attendance, taken in the app."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64)
    hours: float


class AttendanceWrite(BaseModel):
    """Attendance for a session, one line per person."""

    model_config = ConfigDict(extra="forbid")

    lines: list[AttendanceLineWrite] = Field(min_length=1, max_length=5000)


class RowErrorRead(BaseModel):
    """A rejected line: its row (CSV: the header is row 1; in-app: the line from 1), column and reason."""

    model_config = ConfigDict(from_attributes=True)

    row: int
    column: str
    code: str
    reason: str


class AttendanceReportRead(BaseModel):
    """What an attendance submission did."""

    model_config = ConfigDict(from_attributes=True)

    created: int
    updated: int
    unchanged: int
    errors: list[RowErrorRead]


class RosterLine(BaseModel):
    """A person on a session's attendance sheet: enrolled, queued, or attending without enrolment."""

    user_id: int
    username: str
    full_name: str
    department_code: str | None
    enrolment: EnrolmentStatus | None
    attended_hours: float | None


class KindProgressRead(BaseModel):
    """Progress on one kind of hours."""

    hours: float
    target_hours: float
    expected_hours: float
    forecast_hours: float
    met: bool
    behind: bool


class ProgressRead(BaseModel):
    """A person's year against the 40 h / 5 h targets (pro-rated for the days served)."""

    user_id: int
    username: str
    full_name: str
    department_code: str
    year: int
    as_of: date
    on_the_job: KindProgressRead
    digital: KindProgressRead
    met: bool
    behind: bool
    forecast_met: bool


class DepartmentRead(BaseModel):
    """A department's year."""

    department_code: str
    year: int
    staff: int
    on_the_job_hours: float
    on_the_job_target_hours: float
    digital_hours: float
    digital_target_hours: float
    met: int
    met_pct: float
    behind: int
    forecast_short: int


class CertificateRead(BaseModel):
    """A certificate or licence."""

    id: int
    number: str
    user_id: int
    course_id: int
    course_title: str
    category: CourseCategory
    issued_on: date
    expires_on: date | None
    revoked: bool


class LicenceRead(BaseModel):
    """A person's best procurement licence and whether they may act as a procurement representative."""

    user_id: int
    username: str
    full_name: str
    department_code: str | None
    level: CourseCategory
    certificate_number: str
    issued_on: date
    expires_on: date | None
    state: LicenceState
    may_act: bool


class MyTraining(BaseModel):
    """The "my training" page: this year's progress, certificates, and my upcoming sessions."""

    progress: ProgressRead | None
    certificates: list[CertificateRead]
    upcoming: list[SessionRead]
    enrolments: list[EnrolmentRead]


class XapiStored(BaseModel):
    """What intake did with a statement."""

    id: str
    stored: bool
    credited_hours: float


class DrillCreate(BaseModel):
    """A drill that took place and its outcome."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    scenario: str = Field(pattern=r"^[a-z_]{2,32}$", examples=["earthquake"])
    held_at: AwareDatetime
    participants: int = Field(ge=0, le=100_000)
    evacuation_seconds: int | None = Field(None, gt=0, le=24 * 3600)
    target_evacuation_seconds: int | None = Field(None, gt=0, le=24 * 3600)
    findings: str = Field("", max_length=10_000)
    building_id: int | None = None
    department_code: str | None = Field(None, pattern=CODE)


class DrillActionCreate(BaseModel):
    """A follow-up action from a drill's findings."""

    model_config = ConfigDict(extra="forbid")

    description: str = Field(min_length=1, max_length=2000)
    owner_id: int | None = None
    due_on: date


class DrillActionDone(BaseModel):
    """What was done."""

    model_config = ConfigDict(extra="forbid")

    outcome: str = Field(min_length=1, max_length=2000)


class DrillActionRead(BaseModel):
    """A follow-up action."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    drill_id: int
    description: str
    owner_id: int | None
    due_on: date
    status: ActionStatus
    done_at: datetime | None
    outcome: str


class DrillRead(BaseModel):
    """A drill, its outcome, whether evacuation met its target, and its actions."""

    id: int
    title: str
    scenario: str
    held_at: datetime
    participants: int
    evacuation_seconds: int | None
    target_evacuation_seconds: int | None
    evacuation_met: bool | None
    findings: str
    building_id: int | None
    department_code: str | None
    actions: list[DrillActionRead]
