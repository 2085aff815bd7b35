"""Staff profiles, courses, sessions and enrolment with a waiting list. Every change is audited.

Enrolment is first come, first served: a session's seats go to the earliest requests, the rest wait in
`requested_at` order, and a seat freed by a cancellation (or added capacity) goes to the head of the queue
at once. The session row is locked while seats are counted, so two people never take the last seat.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityhall.audit import add_created, audited
from cityhall.db import utcnow
from cityhall.errors import ConflictError, InvalidInputError, NotFoundError
from cityhall.models import (
    Course,
    CourseCategory,
    Delivery,
    Enrolment,
    EnrolmentStatus,
    Role,
    SessionStatus,
    StaffProfile,
    TrainingDuty,
    TrainingSession,
    User,
)

# --- who may do what ---


@dataclass(frozen=True, slots=True)
class TrainingAccess:
    """What a signed-in user may see and do in the training module."""

    user_id: int | None
    is_officer: bool  # training officer or admin: everything
    managed_department: str | None  # department manager: that department's people and sessions

    def may_see_department(self, department_code: str) -> bool:
        """Officers see every department, managers their own."""
        return self.is_officer or self.managed_department == department_code

    def may_see_person(self, profile: StaffProfile | None, user_id: int) -> bool:
        """Anyone sees themselves; managers their department; officers everyone."""
        if self.is_officer or user_id == self.user_id:
            return True
        return profile is not None and self.may_see_department(profile.department_code)

    @property
    def may_take_attendance(self) -> bool:
        """Officers and department managers take attendance and import attendance files."""
        return self.is_officer or self.managed_department is not None


def access_for(session: Session, *, user_id: int | None, role: Role) -> TrainingAccess:
    """The training access of a caller: admins and training officers manage, managers see their department."""
    profile = session.get(StaffProfile, user_id) if user_id is not None else None
    duty = profile.duty if profile is not None else TrainingDuty.MEMBER
    is_officer = role is Role.ADMIN or duty is TrainingDuty.TRAINING_OFFICER
    managed = profile.department_code if profile and duty is TrainingDuty.DEPARTMENT_MANAGER else None
    return TrainingAccess(user_id=user_id, is_officer=is_officer, managed_department=managed)


# --- staff profiles ---


def set_profile(
    session: Session,
    *,
    user_id: int,
    department_code: str,
    joined_on: date,
    left_on: date | None,
    duty: TrainingDuty,
    actor: str,
) -> StaffProfile:
    """Create or replace a user's training profile (department, service dates, duty)."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFoundError("user_not_found", f"no user {user_id}", loc=("path", "user_id"))
    if left_on is not None and left_on < joined_on:
        raise InvalidInputError("left_before_joined", "left_on is before joined_on", loc=("body", "left_on"))
    profile = session.get(StaffProfile, user_id)
    if profile is None:
        profile = StaffProfile(
            user_id=user_id, department_code=department_code, joined_on=joined_on, left_on=left_on, duty=duty
        )
        add_created(session, profile, entity="training_staff", actor=actor)
        return profile
    with audited(session, profile, entity="training_staff", action="update", actor=actor):
        profile.department_code = department_code
        profile.joined_on = joined_on
        profile.left_on = left_on
        profile.duty = duty
        session.flush()
    return profile


# --- courses ---


def get_course(session: Session, course_id: int) -> Course:
    """A course by id, or 404."""
    course = session.get(Course, course_id)
    if course is None:
        raise NotFoundError("course_not_found", f"no course {course_id}", loc=("path", "course_id"))
    return course


def create_course(
    session: Session,
    *,
    code: str,
    title: str,
    category: CourseCategory,
    delivery: Delivery,
    digital_share_pct: int = 0,
    issues_certificate: bool = False,
    certificate_valid_months: int | None = None,
    xapi_activity_id: str | None = None,
    description: str = "",
    actor: str,
) -> Course:
    """Add a course; 409 when the code or xAPI activity id is taken, 422 on an inconsistent share."""
    if session.scalars(select(Course.id).where(Course.code == code)).first() is not None:
        raise ConflictError("course_exists", f"a course with code {code} exists", loc=("body", "code"))
    if (
        xapi_activity_id is not None
        and session.scalars(select(Course.id).where(Course.xapi_activity_id == xapi_activity_id)).first()
    ):
        raise ConflictError(
            "activity_taken", "another course has this xAPI activity id", loc=("body", "xapi_activity_id")
        )
    share = {Delivery.ON_SITE: 0, Delivery.DIGITAL: 100}.get(delivery, digital_share_pct)
    if delivery is Delivery.BLENDED and not 0 < share < 100:
        raise InvalidInputError(
            "blended_share",
            "a blended course needs a digital share between 1 and 99 %",
            loc=("body", "digital_share_pct"),
        )
    if certificate_valid_months is not None and not issues_certificate:
        raise InvalidInputError(
            "validity_without_certificate",
            "a validity needs issues_certificate",
            loc=("body", "certificate_valid_months"),
        )
    course = Course(
        code=code,
        title=title,
        description=description,
        category=category,
        delivery=delivery,
        digital_share_pct=share,
        issues_certificate=issues_certificate,
        certificate_valid_months=certificate_valid_months,
        xapi_activity_id=xapi_activity_id,
        is_active=True,
        created_at=utcnow(),
    )
    add_created(session, course, entity="training_course", actor=actor)
    return course


# --- sessions ---


def get_session(session: Session, session_id: int, *, lock: bool = False) -> TrainingSession:
    """A session by id (locked FOR UPDATE when asked), or 404."""
    stmt = select(TrainingSession).where(TrainingSession.id == session_id)
    found = session.scalars(stmt.with_for_update() if lock else stmt).one_or_none()
    if found is None:
        raise NotFoundError("session_not_found", f"no session {session_id}", loc=("path", "session_id"))
    return found


def create_session(
    session: Session,
    *,
    course: Course,
    starts_at: datetime,
    ends_at: datetime,
    place: str,
    capacity: int,
    instructor: str,
    credit_hours: float | None,
    actor: str,
) -> TrainingSession:
    """Schedule a session; full attendance credits `credit_hours` (default and most: its length)."""
    if ends_at <= starts_at:
        raise InvalidInputError(
            "ends_before_start", "ends_at must be after starts_at", loc=("body", "ends_at")
        )
    length_s = int((ends_at - starts_at).total_seconds())
    credit_s = length_s if credit_hours is None else round(credit_hours * 3600)
    if not 0 < credit_s <= length_s:
        raise InvalidInputError(
            "impossible_credit",
            f"credit_hours must be more than 0 and at most the session's {length_s / 3600:g} hours",
            loc=("body", "credit_hours"),
        )
    if not course.is_active:
        raise InvalidInputError("course_inactive", "the course is retired", loc=("body", "course_id"))
    row = TrainingSession(
        course_id=course.id,
        starts_at=starts_at,
        ends_at=ends_at,
        place=place,
        capacity=capacity,
        instructor=instructor,
        credit_s=credit_s,
        status=SessionStatus.SCHEDULED,
        created_at=utcnow(),
    )
    add_created(session, row, entity="training_session", actor=actor)
    return row


def seats_taken(session: Session, session_id: int) -> int:
    """Enrolled (not waitlisted, not cancelled) people on a session."""
    stmt = select(func.count()).where(
        Enrolment.session_id == session_id, Enrolment.status == EnrolmentStatus.ENROLLED
    )
    return session.scalar(stmt) or 0


def waiting_list(session: Session, session_id: int) -> list[Enrolment]:
    """The queue for a session, first in line first."""
    stmt = (
        select(Enrolment)
        .where(Enrolment.session_id == session_id, Enrolment.status == EnrolmentStatus.WAITLISTED)
        .order_by(Enrolment.requested_at, Enrolment.id)
    )
    return list(session.scalars(stmt))


def enrol(
    session: Session, *, training_session_id: int, user_id: int, actor: str, now: datetime | None = None
) -> Enrolment:
    """Take a seat, or a place on the waiting list when the session is full; enrolling twice is a no-op."""
    now = now or utcnow()
    row = get_session(session, training_session_id, lock=True)
    if row.status is SessionStatus.CANCELLED:
        raise ConflictError("session_cancelled", "the session is cancelled", loc=("path", "session_id"))
    if row.starts_at <= now:
        raise ConflictError("session_started", "the session has started", loc=("path", "session_id"))
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        raise InvalidInputError("unknown_user", f"no active user {user_id}", loc=("body", "user_id"))
    existing = session.scalars(
        select(Enrolment).where(Enrolment.session_id == row.id, Enrolment.user_id == user_id)
    ).one_or_none()
    if existing is not None and existing.status is not EnrolmentStatus.CANCELLED:
        return existing
    status = (
        EnrolmentStatus.ENROLLED
        if seats_taken(session, row.id) < row.capacity
        else EnrolmentStatus.WAITLISTED
    )
    if existing is not None:  # re-enrolling after a cancellation joins the back of the queue
        with audited(session, existing, entity="training_enrolment", action="re-enrol", actor=actor):
            existing.status = status
            existing.requested_at = now
            existing.cancelled_at = None
            existing.promoted_at = None
            session.flush()
        return existing
    enrolment = Enrolment(session_id=row.id, user_id=user_id, status=status, requested_at=now)
    add_created(session, enrolment, entity="training_enrolment", actor=actor)
    return enrolment


def cancel_enrolment(
    session: Session, *, training_session_id: int, user_id: int, actor: str, now: datetime | None = None
) -> list[Enrolment]:
    """Give up a seat or a place in the queue; returns the people promoted into freed seats."""
    now = now or utcnow()
    row = get_session(session, training_session_id, lock=True)
    enrolment = session.scalars(
        select(Enrolment).where(Enrolment.session_id == row.id, Enrolment.user_id == user_id)
    ).one_or_none()
    if enrolment is None or enrolment.status is EnrolmentStatus.CANCELLED:
        raise NotFoundError("not_enrolled", f"user {user_id} is not enrolled", loc=("path", "user_id"))
    with audited(session, enrolment, entity="training_enrolment", action="cancel", actor=actor):
        enrolment.status = EnrolmentStatus.CANCELLED
        enrolment.cancelled_at = now
        session.flush()
    return promote(session, row, actor=actor, now=now)


def promote(
    session: Session, row: TrainingSession, *, actor: str, now: datetime | None = None
) -> list[Enrolment]:
    """Move people from the head of the queue into free seats (after a cancellation or more capacity)."""
    now = now or utcnow()
    free = row.capacity - seats_taken(session, row.id)
    promoted: list[Enrolment] = []
    for waiting in waiting_list(session, row.id)[: max(free, 0)]:
        with audited(session, waiting, entity="training_enrolment", action="promote", actor=actor):
            waiting.status = EnrolmentStatus.ENROLLED
            waiting.promoted_at = now
            session.flush()
        promoted.append(waiting)
    return promoted


def change_capacity(session: Session, *, row: TrainingSession, capacity: int, actor: str) -> list[Enrolment]:
    """Change a session's seats; more seats promote from the queue, fewer than are taken is refused."""
    taken = seats_taken(session, row.id)
    if capacity < taken:
        raise ConflictError(
            "capacity_below_enrolled", f"{taken} people hold seats already", loc=("body", "capacity")
        )
    with audited(session, row, entity="training_session", action="update", actor=actor):
        row.capacity = capacity
        session.flush()
    return promote(session, row, actor=actor)


def cancel_session(session: Session, *, row: TrainingSession, actor: str) -> None:
    """Cancel a session (attendance already taken stays credited)."""
    with audited(session, row, entity="training_session", action="cancel", actor=actor):
        row.status = SessionStatus.CANCELLED
        session.flush()
