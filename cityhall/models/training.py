"""Safety training and lifelong learning: staff profiles, courses, sessions, enrolment, attendance, the hours
ledger, xAPI statements, certificates and licences, their expiry reminders, and safety drills.

Hours are stored as whole seconds (`*_s` columns), so sums are exact; people see hours. Every credited
hour is one row of `training_credits`, keyed by its source (`attendance:<session>:<user>`,
`xapi:<statement id>`), which makes replaying an import or a statement a no-op. See docs/training.md.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cityhall.db import Base, UTCDateTime, utcnow
from cityhall.models.assets import Building
from cityhall.models.types import str_enum
from cityhall.models.users import User


class TrainingDuty(StrEnum):
    """What a person may do in the training module beyond their own record."""

    MEMBER = "member"  # sees their own hours, enrols
    DEPARTMENT_MANAGER = "department_manager"  # sees their department, takes attendance
    TRAINING_OFFICER = "training_officer"  # manages courses, sessions, drills; sees everyone


class CourseCategory(StrEnum):
    """Why a course is held (seed III.6, IV.1(3), IV.1(8), IV.2(1))."""

    SAFETY = "safety"
    DISASTER_PREVENTION = "disaster_prevention"
    PROCUREMENT_BASIC = "procurement_basic"  # Government Procurement Act, basic licensing course
    PROCUREMENT_ADVANCED = "procurement_advanced"
    RECORDS_MANAGEMENT = "records_management"
    SITE_VISIT = "site_visit"
    GENERAL = "general"


PROCUREMENT_CATEGORIES = frozenset({CourseCategory.PROCUREMENT_BASIC, CourseCategory.PROCUREMENT_ADVANCED})


class Delivery(StrEnum):
    """How a course is taught, which decides the kind of hours it credits."""

    ON_SITE = "on_site"
    DIGITAL = "digital"
    BLENDED = "blended"


class HourKind(StrEnum):
    """The two yearly targets: on-the-job training (40 h) and digital learning (5 h)."""

    ON_THE_JOB = "on_the_job"
    DIGITAL = "digital"


class EnrolmentStatus(StrEnum):
    """A seat held, a place in the queue, or given up."""

    ENROLLED = "enrolled"
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"


class SessionStatus(StrEnum):
    """A session is scheduled until it is cancelled (attendance can be taken while scheduled)."""

    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


class ActionStatus(StrEnum):
    """A drill's follow-up action."""

    OPEN = "open"
    DONE = "done"


class StaffProfile(Base):
    """The training side of a user: department, the day they joined (for pro-rated targets), their duty."""

    __tablename__ = "training_staff"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    department_code: Mapped[str] = mapped_column(String(32), index=True)
    joined_on: Mapped[date] = mapped_column(Date)
    left_on: Mapped[date | None] = mapped_column(Date)
    duty: Mapped[TrainingDuty] = mapped_column(str_enum(TrainingDuty), default=TrainingDuty.MEMBER)

    user: Mapped[User] = relationship()


class Course(Base):
    """A course; each session of it credits `session_hours` by `delivery` (blended: `digital_share`)."""

    __tablename__ = "training_courses"
    __table_args__ = (
        CheckConstraint("digital_share_pct BETWEEN 0 AND 100", name="digital_share_range"),
        CheckConstraint("certificate_valid_months IS NULL OR certificate_valid_months > 0", name="validity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[CourseCategory] = mapped_column(str_enum(CourseCategory))
    delivery: Mapped[Delivery] = mapped_column(str_enum(Delivery))
    digital_share_pct: Mapped[int] = mapped_column(Integer, default=0)  # of a blended course's hours
    issues_certificate: Mapped[bool] = mapped_column(default=False)
    certificate_valid_months: Mapped[int | None] = mapped_column(Integer)  # None: never expires
    xapi_activity_id: Mapped[str | None] = mapped_column(String(500), unique=True)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class TrainingSession(Base):
    """One sitting of a course: when, where, seats, instructor, and the hours full attendance earns."""

    __tablename__ = "training_sessions"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("capacity > 0", name="capacity_positive"),
        CheckConstraint("credit_s > 0", name="credit_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("training_courses.id", ondelete="CASCADE"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    place: Mapped[str] = mapped_column(String(200))
    capacity: Mapped[int] = mapped_column(Integer)
    instructor: Mapped[str] = mapped_column(String(200), default="")
    credit_s: Mapped[int] = mapped_column(Integer)  # hours credited for full attendance, in seconds
    status: Mapped[SessionStatus] = mapped_column(str_enum(SessionStatus), default=SessionStatus.SCHEDULED)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    course: Mapped[Course] = relationship()


class Enrolment(Base):
    """A person's place on a session: a seat, or a place in the waiting list (ordered by `requested_at`)."""

    __tablename__ = "training_enrolments"
    __table_args__ = (UniqueConstraint("session_id", "user_id", name="uq_training_enrolments_session_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("training_sessions.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    status: Mapped[EnrolmentStatus] = mapped_column(str_enum(EnrolmentStatus))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime())
    promoted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Attendance(Base):
    """Who attended a session and for how long (at most its credit), taken in the app or imported."""

    __tablename__ = "training_attendance"
    __table_args__ = (
        UniqueConstraint("session_id", "user_id", name="uq_training_attendance_session_user"),
        CheckConstraint("attended_s > 0", name="attended_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("training_sessions.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    attended_s: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(16))  # app, csv
    recorded_by: Mapped[str] = mapped_column(String(120))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TrainingCredit(Base):
    """One line of the hours ledger: hours of a kind credited to a person on a day, from one source."""

    __tablename__ = "training_credits"
    __table_args__ = (
        CheckConstraint("duration_s >= 0", name="duration_not_negative"),
        Index("ix_training_credits_user_day", "user_id", "credited_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source_key: Mapped[str] = mapped_column(String(120), unique=True)  # attendance:3:7:digital, xapi:<uuid>
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[HourKind] = mapped_column(str_enum(HourKind))
    duration_s: Mapped[int] = mapped_column(Integer)
    credited_on: Mapped[date] = mapped_column(Date)  # the day in Asia/Taipei the learning happened
    course_id: Mapped[int | None] = mapped_column(ForeignKey("training_courses.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class XapiStatement(Base):
    """An xAPI 1.0.3 statement from an e-learning platform, kept whole; its id makes intake idempotent."""

    __tablename__ = "training_xapi_statements"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # the statement's UUID, lower case
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    verb_id: Mapped[str] = mapped_column(String(500))
    activity_id: Mapped[str] = mapped_column(String(500))
    duration_s: Mapped[int] = mapped_column(Integer, default=0)
    credited_s: Mapped[int] = mapped_column(Integer, default=0)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    stored_at: Mapped[datetime] = mapped_column(UTCDateTime())
    received_from: Mapped[str] = mapped_column(String(120))
    statement: Mapped[dict[str, Any]] = mapped_column(JSON)


class Certificate(Base):
    """A certificate or licence issued on completing a session, with its expiry when the course has one."""

    __tablename__ = "training_certificates"
    __table_args__ = (
        UniqueConstraint("user_id", "session_id", name="uq_training_certificates_user_session"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("training_courses.id", ondelete="CASCADE"))
    session_id: Mapped[int | None] = mapped_column(ForeignKey("training_sessions.id", ondelete="SET NULL"))
    category: Mapped[CourseCategory] = mapped_column(str_enum(CourseCategory))
    issued_on: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date | None] = mapped_column(Date, index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    course: Mapped[Course] = relationship()
    user: Mapped[User] = relationship()


class CertificateReminder(Base):
    """An expiry reminder sent for a certificate: one per (certificate, expiry, lead days), never twice."""

    __tablename__ = "training_certificate_reminders"
    __table_args__ = (
        UniqueConstraint(
            "certificate_id", "expires_on", "lead_days", name="uq_training_certificate_reminders_once"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    certificate_id: Mapped[int] = mapped_column(ForeignKey("training_certificates.id", ondelete="CASCADE"))
    expires_on: Mapped[date] = mapped_column(Date)
    lead_days: Mapped[int] = mapped_column(Integer)
    recipient: Mapped[str] = mapped_column(String(254))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Drill(Base):
    """A safety or disaster-prevention drill and its outcome."""

    __tablename__ = "training_drills"
    __table_args__ = (
        CheckConstraint("participants >= 0", name="participants_not_negative"),
        CheckConstraint("evacuation_s IS NULL OR evacuation_s > 0", name="evacuation_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    scenario: Mapped[str] = mapped_column(String(32))  # fire, earthquake, flood, evacuation, ...
    held_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    building_id: Mapped[int | None] = mapped_column(ForeignKey("buildings.id", ondelete="SET NULL"))
    department_code: Mapped[str | None] = mapped_column(String(32))
    participants: Mapped[int] = mapped_column(Integer)
    evacuation_s: Mapped[int | None] = mapped_column(Integer)
    target_evacuation_s: Mapped[int | None] = mapped_column(Integer)
    findings: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    building: Mapped[Building | None] = relationship()
    actions: Mapped[list[DrillAction]] = relationship(order_by="DrillAction.id", back_populates="drill")


class DrillAction(Base):
    """A follow-up action from a drill's findings: who, by when, done or not."""

    __tablename__ = "training_drill_actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    drill_id: Mapped[int] = mapped_column(ForeignKey("training_drills.id", ondelete="CASCADE"), index=True)
    description: Mapped[str] = mapped_column(Text)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[ActionStatus] = mapped_column(str_enum(ActionStatus), default=ActionStatus.OPEN)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[str] = mapped_column(Text, default="")

    drill: Mapped[Drill] = relationship(back_populates="actions")
