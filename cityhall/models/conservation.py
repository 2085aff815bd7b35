"""Resource conservation in four areas and the energy-conservation committee (seed III.6, IV.1(5)).

Targets per department, year and area; monthly entries for what no meter counts (paper, fuel bought in bulk);
committee meetings with minutes and action items; departmental conservation programmes with their measures,
baseline and target per area, and the committee's reviews that approve or return them. Amounts are stored in
the area's unit (kWh, m3, ream), whatever unit they were entered in. See docs/conservation.md.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, Date, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cityhall.db import Base, UTCDateTime, utcnow
from cityhall.models.types import str_enum
from cityhall.models.users import User


class ConservationArea(StrEnum):
    """The four areas the seed asks to conserve (III.6): electricity, water, fuel and paper."""

    ELECTRICITY = "electricity"
    WATER = "water"
    FUEL = "fuel"
    PAPER = "paper"


# The unit every amount of an area is stored and reported in (metered areas: the register's unit).
AREA_UNITS: dict[ConservationArea, str] = {
    ConservationArea.ELECTRICITY: "kWh",
    ConservationArea.WATER: "m3",
    ConservationArea.FUEL: "m3",
    ConservationArea.PAPER: "ream",
}


class MeetingStatus(StrEnum):
    """A meeting is scheduled, then held (minutes may follow), or cancelled."""

    SCHEDULED = "scheduled"
    HELD = "held"
    CANCELLED = "cancelled"


class ProgrammeStatus(StrEnum):
    """draft -> submitted -> approved | returned; a returned programme can be edited and submitted again."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    RETURNED = "returned"


class ReviewDecision(StrEnum):
    """What a review decides for the programme."""

    APPROVE = "approve"
    RETURN = "return"


class CommitteeActionStatus(StrEnum):
    """A meeting's action item is open until marked done."""

    OPEN = "open"
    DONE = "done"


class ConservationTarget(Base):
    """A department's full-year consumption target for one area, with the baseline it was set against."""

    __tablename__ = "conservation_targets"
    __table_args__ = (
        UniqueConstraint(
            "department_code", "year", "area", name="uq_conservation_targets_department_year_area"
        ),
        CheckConstraint("target_amount >= 0", name="target_not_negative"),
        CheckConstraint("baseline_amount IS NULL OR baseline_amount >= 0", name="baseline_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    department_code: Mapped[str] = mapped_column(String(32), index=True)
    year: Mapped[int] = mapped_column(Integer)
    area: Mapped[ConservationArea] = mapped_column(str_enum(ConservationArea))
    target_amount: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(8))  # the area's unit, AREA_UNITS
    baseline_amount: Mapped[float | None] = mapped_column(Float)
    baseline_year: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ConsumptionEntry(Base):
    """One month's unmetered consumption of a department and area from one source (an invoice, a fuel card).

    The key (department, area, month, source) is unique: posting the same key again replaces the amount.
    """

    __tablename__ = "conservation_entries"
    __table_args__ = (
        UniqueConstraint(
            "department_code",
            "area",
            "month",
            "source",
            name="uq_conservation_entries_department_area_month_source",
        ),
        CheckConstraint("amount >= 0", name="amount_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    department_code: Mapped[str] = mapped_column(String(32), index=True)
    area: Mapped[ConservationArea] = mapped_column(str_enum(ConservationArea))
    month: Mapped[date] = mapped_column(Date, index=True)  # the first day of the month
    amount: Mapped[float] = mapped_column(Float)  # in `unit`, the area's unit
    unit: Mapped[str] = mapped_column(String(8))
    entered_amount: Mapped[float] = mapped_column(Float)  # as typed, before conversion
    entered_unit: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text, default="")
    entered_by: Mapped[str] = mapped_column(String(120))
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CommitteeMeeting(Base):
    """A meeting of the energy-conservation committee; its minutes are recorded after it is held."""

    __tablename__ = "committee_meetings"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    location: Mapped[str] = mapped_column(String(200), default="")
    attendees: Mapped[list[str]] = mapped_column(JSON, default=list)
    minutes: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[MeetingStatus] = mapped_column(str_enum(MeetingStatus), default=MeetingStatus.SCHEDULED)
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    actions: Mapped[list[CommitteeAction]] = relationship(
        order_by="CommitteeAction.id", back_populates="meeting", passive_deletes=True
    )


class ConservationProgramme(Base):
    """A department's conservation programme for a year: its measures, baseline and target per area."""

    __tablename__ = "conservation_programmes"
    __table_args__ = (
        UniqueConstraint(
            "department_code", "year", "title", name="uq_conservation_programmes_department_year_title"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    department_code: Mapped[str] = mapped_column(String(32), index=True)
    year: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[ProgrammeStatus] = mapped_column(str_enum(ProgrammeStatus), default=ProgrammeStatus.DRAFT)
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    measures: Mapped[list[ProgrammeMeasure]] = relationship(
        order_by="ProgrammeMeasure.id", cascade="all, delete-orphan", passive_deletes=True
    )
    area_targets: Mapped[list[ProgrammeAreaTarget]] = relationship(
        order_by="ProgrammeAreaTarget.area", cascade="all, delete-orphan", passive_deletes=True
    )
    reviews: Mapped[list[ProgrammeReview]] = relationship(
        order_by="ProgrammeReview.id", back_populates="programme", passive_deletes=True
    )


class ProgrammeMeasure(Base):
    """One measure of a programme and the saving it is expected to bring, in the area's unit per year."""

    __tablename__ = "conservation_programme_measures"
    __table_args__ = (CheckConstraint("expected_saving >= 0", name="saving_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(
        ForeignKey("conservation_programmes.id", ondelete="CASCADE"), index=True
    )
    description: Mapped[str] = mapped_column(Text)
    area: Mapped[ConservationArea] = mapped_column(str_enum(ConservationArea))
    expected_saving: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(8))


class ProgrammeAreaTarget(Base):
    """A programme's baseline and target for one area (full-year amounts in the area's unit)."""

    __tablename__ = "conservation_programme_targets"
    __table_args__ = (
        UniqueConstraint("programme_id", "area", name="uq_conservation_programme_targets_programme_area"),
        CheckConstraint("baseline_amount >= 0 AND target_amount >= 0", name="amounts_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("conservation_programmes.id", ondelete="CASCADE"))
    area: Mapped[ConservationArea] = mapped_column(str_enum(ConservationArea))
    baseline_amount: Mapped[float] = mapped_column(Float)
    baseline_year: Mapped[int] = mapped_column(Integer)
    target_amount: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(8))


class ProgrammeReview(Base):
    """The committee's review of a submitted programme: a score, comments, and approve or return."""

    __tablename__ = "conservation_programme_reviews"
    __table_args__ = (CheckConstraint("score BETWEEN 0 AND 100", name="score_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(
        ForeignKey("conservation_programmes.id", ondelete="CASCADE"), index=True
    )
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("committee_meetings.id", ondelete="SET NULL"))
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reviewer: Mapped[str] = mapped_column(String(120))  # the audit actor, kept if the user is deleted
    score: Mapped[int] = mapped_column(Integer)
    comments: Mapped[str] = mapped_column(Text, default="")
    decision: Mapped[ReviewDecision] = mapped_column(str_enum(ReviewDecision))
    reviewed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    programme: Mapped[ConservationProgramme] = relationship(back_populates="reviews")


class CommitteeAction(Base):
    """An action item from a meeting: what, who (a user or a name), by when, done or not."""

    __tablename__ = "committee_actions"
    __table_args__ = (
        CheckConstraint("owner_id IS NOT NULL OR owner_name <> ''", name="has_owner"),
        CheckConstraint("(status = 'done') = (done_at IS NOT NULL)", name="done_has_time"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("committee_meetings.id", ondelete="CASCADE"), index=True
    )
    description: Mapped[str] = mapped_column(Text)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    owner_name: Mapped[str] = mapped_column(String(200), default="")
    due_on: Mapped[date] = mapped_column(Date, index=True)
    status: Mapped[CommitteeActionStatus] = mapped_column(
        str_enum(CommitteeActionStatus), default=CommitteeActionStatus.OPEN
    )
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    meeting: Mapped[CommitteeMeeting] = relationship(back_populates="actions")
    owner: Mapped[User | None] = relationship()
