"""Glue between the training routes and cityhall.training: permission checks and API views."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.exceptions import PermissionDeniedError
from api.training.dependencies import TrainingCaller
from api.training.schemas import (
    CertificateRead,
    DepartmentRead,
    DrillActionRead,
    DrillRead,
    EnrolmentRead,
    KindProgressRead,
    LicenceRead,
    ProgressRead,
    SessionRead,
)
from cityhall.db import utcnow
from cityhall.errors import InvalidInputError
from cityhall.models import (
    Certificate,
    Drill,
    Enrolment,
    EnrolmentStatus,
    StaffProfile,
    TrainingSession,
)
from cityhall.training.progress import DepartmentRollup, KindProgress, PersonProgress
from cityhall.training.reports import LicenceStatus

TAIPEI = ZoneInfo("Asia/Taipei")


def hours(seconds: int) -> float:
    """Seconds as hours, two decimals."""
    return round(seconds / 3600, 2)


def today() -> date:
    """Today in Asia/Taipei."""
    return utcnow().astimezone(TAIPEI).date()


def year_and_day(year: int | None, as_of: date | None) -> tuple[int, date]:
    """The year asked for (default: this year) and the day progress is seen on (default: today)."""
    day = as_of or today()
    return (year or day.year), day


# --- permissions ---


def require_officer(caller: TrainingCaller) -> None:
    """403 unless the caller is a training officer or admin."""
    if not caller.access.is_officer:
        raise PermissionDeniedError("forbidden", "only training officers may do this")


def require_attendance_taker(caller: TrainingCaller) -> None:
    """403 unless the caller takes attendance (training officer, department manager, admin)."""
    if not caller.access.may_take_attendance:
        raise PermissionDeniedError(
            "forbidden", "only training officers and department managers take attendance"
        )


def department_scope(caller: TrainingCaller, department_code: str | None) -> str | None:
    """The department a caller may list: officers any (None: all), managers only their own."""
    access = caller.access
    if access.is_officer:
        return department_code
    if access.managed_department is None:
        raise PermissionDeniedError(
            "forbidden", "only department managers and training officers see departments"
        )
    if department_code is not None and department_code != access.managed_department:
        raise PermissionDeniedError(
            "forbidden", f"you manage {access.managed_department}, not {department_code}"
        )
    return access.managed_department


def ensure_may_see_person(session: Session, caller: TrainingCaller, user_id: int) -> None:
    """403 unless the caller may see this person's training record."""
    if not caller.access.may_see_person(session.get(StaffProfile, user_id), user_id):
        raise PermissionDeniedError("forbidden", "you may see your own record and your department's only")


def target_user(session: Session, caller: TrainingCaller, user_id: int | None) -> int:
    """The person a request acts for: the caller, or someone they manage."""
    me = caller.principal.user_id
    if user_id is None or user_id == me:
        if me is None:
            raise InvalidInputError("user_required", "name the user_id", loc=("body", "user_id"))
        return me
    ensure_may_see_person(session, caller, user_id)
    return user_id


# --- views ---


def session_read(session: Session, row: TrainingSession) -> SessionRead:
    """The API view of a session, with seats taken and queue length."""
    counts = dict(
        session.execute(
            select(Enrolment.status, func.count())
            .where(Enrolment.session_id == row.id)
            .group_by(Enrolment.status)
        ).all()
    )
    course = row.course
    return SessionRead(
        id=row.id,
        course_id=course.id,
        course_code=course.code,
        course_title=course.title,
        category=course.category,
        delivery=course.delivery,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        place=row.place,
        capacity=row.capacity,
        instructor=row.instructor,
        credit_hours=hours(row.credit_s),
        status=row.status,
        enrolled=counts.get(EnrolmentStatus.ENROLLED, 0),
        waitlisted=counts.get(EnrolmentStatus.WAITLISTED, 0),
    )


def enrolment_read(session: Session, enrolment: Enrolment) -> EnrolmentRead:
    """The API view of an enrolment, with its place in the queue."""
    position = None
    if enrolment.status is EnrolmentStatus.WAITLISTED:
        ahead = session.scalar(
            select(func.count()).where(
                Enrolment.session_id == enrolment.session_id,
                Enrolment.status == EnrolmentStatus.WAITLISTED,
                (Enrolment.requested_at < enrolment.requested_at)
                | ((Enrolment.requested_at == enrolment.requested_at) & (Enrolment.id < enrolment.id)),
            )
        )
        position = (ahead or 0) + 1
    return EnrolmentRead(
        session_id=enrolment.session_id,
        user_id=enrolment.user_id,
        status=enrolment.status,
        requested_at=enrolment.requested_at,
        promoted_at=enrolment.promoted_at,
        queue_position=position,
    )


def _kind(k: KindProgress) -> KindProgressRead:
    return KindProgressRead(
        hours=hours(k.done_s),
        target_hours=hours(k.target_s),
        expected_hours=hours(k.expected_s),
        forecast_hours=hours(k.forecast_s),
        met=k.met,
        behind=k.behind,
    )


def progress_read(p: PersonProgress, as_of: date) -> ProgressRead:
    """The API view of a person's year."""
    return ProgressRead(
        user_id=p.user_id,
        username=p.username,
        full_name=p.full_name,
        department_code=p.department_code,
        year=p.year,
        as_of=as_of,
        on_the_job=_kind(p.on_the_job),
        digital=_kind(p.digital),
        met=p.met,
        behind=p.behind,
        forecast_met=p.forecast_met,
    )


def department_read(year: int, d: DepartmentRollup) -> DepartmentRead:
    """The API view of a department's year."""
    return DepartmentRead(
        department_code=d.department_code,
        year=year,
        staff=d.staff,
        on_the_job_hours=hours(d.on_the_job_s),
        on_the_job_target_hours=hours(d.target_on_the_job_s),
        digital_hours=hours(d.digital_s),
        digital_target_hours=hours(d.target_digital_s),
        met=d.met,
        met_pct=round(d.met_pct, 1),
        behind=d.behind,
        forecast_short=d.forecast_short,
    )


def certificate_read(cert: Certificate) -> CertificateRead:
    """The API view of a certificate."""
    return CertificateRead(
        id=cert.id,
        number=cert.number,
        user_id=cert.user_id,
        course_id=cert.course_id,
        course_title=cert.course.title,
        category=cert.category,
        issued_on=cert.issued_on,
        expires_on=cert.expires_on,
        revoked=cert.revoked_at is not None,
    )


def licence_read(s: LicenceStatus) -> LicenceRead:
    """The API view of a register line."""
    return LicenceRead(
        user_id=s.user_id,
        username=s.username,
        full_name=s.full_name,
        department_code=s.department_code,
        level=s.level,
        certificate_number=s.certificate_number,
        issued_on=s.issued_on,
        expires_on=s.expires_on,
        state=s.state,
        may_act=s.may_act,
    )


def drill_read(drill: Drill) -> DrillRead:
    """The API view of a drill and its actions."""
    met = None
    if drill.evacuation_s is not None and drill.target_evacuation_s is not None:
        met = drill.evacuation_s <= drill.target_evacuation_s
    return DrillRead(
        id=drill.id,
        title=drill.title,
        scenario=drill.scenario,
        held_at=drill.held_at,
        participants=drill.participants,
        evacuation_seconds=drill.evacuation_s,
        target_evacuation_seconds=drill.target_evacuation_s,
        evacuation_met=met,
        findings=drill.findings,
        building_id=drill.building_id,
        department_code=drill.department_code,
        actions=[DrillActionRead.model_validate(a) for a in drill.actions],
    )
