"""Bookable resources (halls, meeting rooms, civic-center venues, dormitory rooms) and their bookings.

Two bookings of one resource never overlap, buffer included: `block_until` is the booking's end plus the
resource's buffer, and the database refuses overlapping [starts_at, block_until) ranges of active bookings:
on PostgreSQL with an exclusion constraint (btree_gist + tstzrange), on SQLite with a trigger (SQLite has a
single writer, so the trigger's check cannot race). See docs/venues.md.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    DDL,
    JSON,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    event,
    func,
    literal_column,
    text,
)
from sqlalchemy.dialects.postgresql import ExcludeConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cityhall.db import Base, UTCDateTime, utcnow
from cityhall.models.assets import Site, Space
from cityhall.models.types import str_enum


class ResourceKind(StrEnum):
    """What kind of bookable thing a resource is."""

    HALL = "hall"
    MEETING_ROOM = "meeting_room"
    VENUE = "venue"  # an outdoor or multi-purpose civic-center space
    DORM_ROOM = "dorm_room"


class Audience(StrEnum):
    """Who may book: citizens and staff (public) or staff only (internal)."""

    PUBLIC = "public"
    INTERNAL = "internal"


class BookingStatus(StrEnum):
    """A booking's lifecycle; the first three hold the slot (ACTIVE_BOOKING_STATUSES)."""

    PENDING = "pending"  # a citizen's application awaiting approval; shown as tentative
    CONFIRMED = "confirmed"
    CHECKED_IN = "checked_in"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    NO_SHOW = "no_show"  # not checked in within the grace period; the slot was released


ACTIVE_BOOKING_STATUSES = (BookingStatus.PENDING, BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN)
_ACTIVE_SQL = "status IN ('pending', 'confirmed', 'checked_in')"


class QuotaScope(StrEnum):
    """Whom a quota counts: each booker on their own, or each department together."""

    PERSON = "person"
    DEPARTMENT = "department"


class QuotaPeriod(StrEnum):
    """The calendar period (Asia/Taipei) a quota counts over."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"


class VenueResource(Base):
    """A bookable thing with its rules: capacity, fee, audience, opening hours, buffer, approval, check-in.

    `opening_hours` maps a weekday (`mon`..`sun`) to `["HH:MM", "HH:MM"]` in Asia/Taipei; a missing day is
    closed; None means always open (dormitory rooms).
    """

    __tablename__ = "venue_resources"
    __table_args__ = (
        CheckConstraint("capacity_people > 0", name="capacity_positive"),
        CheckConstraint("buffer_minutes >= 0", name="buffer_not_negative"),
        CheckConstraint("fee_per_hour_twd >= 0", name="fee_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[ResourceKind] = mapped_column(str_enum(ResourceKind), index=True)
    audience: Mapped[Audience] = mapped_column(str_enum(Audience))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id", ondelete="SET NULL"), index=True)
    space_id: Mapped[int | None] = mapped_column(ForeignKey("spaces.id", ondelete="SET NULL"), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    capacity_people: Mapped[int] = mapped_column(Integer)
    equipment: Mapped[list[str]] = mapped_column(JSON, default=list)
    fee_per_hour_twd: Mapped[int] = mapped_column(Integer, default=0)
    opening_hours: Mapped[dict[str, list[str]] | None] = mapped_column(JSON)
    buffer_minutes: Mapped[int] = mapped_column(Integer, default=0)
    min_notice_minutes: Mapped[int] = mapped_column(Integer, default=0)
    max_duration_minutes: Mapped[int | None] = mapped_column(Integer)
    requires_approval: Mapped[bool] = mapped_column(Boolean, default=False)
    closed_on_holidays: Mapped[bool] = mapped_column(Boolean, default=True)
    check_in_required: Mapped[bool] = mapped_column(Boolean, default=False)
    check_in_grace_minutes: Mapped[int] = mapped_column(Integer, default=15)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    site: Mapped[Site | None] = relationship()
    space: Mapped[Space | None] = relationship()


class VenueApplicant(Base):
    """A citizen who applied for a venue; no password: a private key (only its SHA-256 is stored) in the
    link they were given opens their own applications, and a second key their calendar feed."""

    __tablename__ = "venue_applicants"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str] = mapped_column(String(254), index=True)
    phone: Mapped[str] = mapped_column(String(32))
    organisation: Mapped[str] = mapped_column(String(200), default="")
    key_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    feed_key_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class VenueFeedKey(Base):
    """A staff member's calendar-feed key (only its SHA-256 is stored); rotating it replaces the row."""

    __tablename__ = "venue_feed_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    key_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class BookingSeries(Base):
    """A recurring booking: an RFC 5545 RRULE from `dtstart` (Asia/Taipei wall time), one Booking row per
    occurrence. `exdates` are the original starts (UTC ISO 8601) of occurrences left out or cancelled."""

    __tablename__ = "venue_booking_series"

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(
        ForeignKey("venue_resources.id", ondelete="RESTRICT"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    rrule: Mapped[str] = mapped_column(String(500))
    dtstart: Mapped[datetime] = mapped_column(UTCDateTime())
    duration_minutes: Mapped[int] = mapped_column(Integer)
    exdates: Mapped[list[str]] = mapped_column(JSON, default=list)
    free_dates_only: Mapped[bool] = mapped_column(Boolean, default=False)
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class Booking(Base):
    """One reservation of a resource from `starts_at` to `ends_at` (UTC), holding it until `block_until`."""

    __tablename__ = "venue_bookings"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("block_until >= ends_at", name="block_covers_booking"),
        CheckConstraint("attendees > 0", name="attendees_positive"),
        CheckConstraint("user_id IS NOT NULL OR applicant_id IS NOT NULL", name="has_booker"),
        Index("ix_venue_bookings_resource_time", "resource_id", "starts_at"),
        ExcludeConstraint(
            (literal_column("resource_id"), "="),
            (func.tstzrange(literal_column("starts_at"), literal_column("block_until")), "&&"),
            name="ex_venue_bookings_no_overlap",
            using="gist",
            where=text(_ACTIVE_SQL),
        ).ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("venue_resources.id", ondelete="RESTRICT"))
    series_id: Mapped[int | None] = mapped_column(
        ForeignKey("venue_booking_series.id", ondelete="CASCADE"), index=True
    )
    recurrence_id: Mapped[datetime | None] = mapped_column(UTCDateTime())  # the occurrence's original start
    status: Mapped[BookingStatus] = mapped_column(str_enum(BookingStatus), index=True)
    title: Mapped[str] = mapped_column(String(200))
    attendees: Mapped[int] = mapped_column(Integer)
    department: Mapped[str] = mapped_column(String(100), default="")
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    applicant_id: Mapped[int | None] = mapped_column(
        ForeignKey("venue_applicants.id", ondelete="SET NULL"), index=True
    )
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    block_until: Mapped[datetime] = mapped_column(UTCDateTime())
    fee_twd: Mapped[int] = mapped_column(Integer, default=0)
    sequence: Mapped[int] = mapped_column(Integer, default=0)  # iCalendar SEQUENCE, bumped on each change
    note: Mapped[str] = mapped_column(Text, default="")
    decided_by: Mapped[str | None] = mapped_column(String(120))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decision_note: Mapped[str | None] = mapped_column(String(500))
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    resource: Mapped[VenueResource] = relationship()
    applicant: Mapped[VenueApplicant | None] = relationship()
    series: Mapped[BookingSeries | None] = relationship()


# SQLite's counterpart of the exclusion constraint (the migration creates the same triggers). UTCDateTime
# stores UTC text of one fixed format on SQLite, so comparing the text compares the instants.
_SQLITE_OVERLAP_CHECK = """
FOR EACH ROW WHEN NEW.status IN ('pending', 'confirmed', 'checked_in')
BEGIN
    SELECT RAISE(ABORT, 'ex_venue_bookings_no_overlap')
    WHERE EXISTS (
        SELECT 1 FROM venue_bookings AS other
        WHERE other.resource_id = NEW.resource_id
          AND other.id IS NOT NEW.id
          AND other.status IN ('pending', 'confirmed', 'checked_in')
          AND other.starts_at < NEW.block_until
          AND NEW.starts_at < other.block_until
    );
END"""
SQLITE_OVERLAP_TRIGGERS = (
    "CREATE TRIGGER IF NOT EXISTS trg_venue_bookings_no_overlap_insert BEFORE INSERT ON venue_bookings"
    + _SQLITE_OVERLAP_CHECK,
    "CREATE TRIGGER IF NOT EXISTS trg_venue_bookings_no_overlap_update"
    " BEFORE UPDATE OF resource_id, starts_at, block_until, status ON venue_bookings" + _SQLITE_OVERLAP_CHECK,
)

for _trigger in SQLITE_OVERLAP_TRIGGERS:
    _ddl = DDL(_trigger)  # type: ignore[no-untyped-call]  # SQLAlchemy leaves DDL.__init__ unannotated
    event.listen(Booking.__table__, "after_create", _ddl.execute_if(dialect="sqlite"))

# create_all() on PostgreSQL needs btree_gist for `resource_id WITH =` in the exclusion constraint.
event.listen(
    Booking.__table__,
    "before_create",
    DDL("CREATE EXTENSION IF NOT EXISTS btree_gist").execute_if(  # type: ignore[no-untyped-call]
        dialect="postgresql"
    ),
)


class Blackout(Base):
    """A period no one may book (maintenance, a city event); `resource_id` None closes every resource."""

    __tablename__ = "venue_blackouts"
    __table_args__ = (CheckConstraint("ends_at > starts_at", name="ends_after_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int | None] = mapped_column(
        ForeignKey("venue_resources.id", ondelete="CASCADE"), index=True
    )
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Quota(Base):
    """At most `max_hours` booked hours and/or `max_bookings` bookings per person or department per period,
    on one resource or (resource_id None) on all resources together."""

    __tablename__ = "venue_quotas"
    __table_args__ = (CheckConstraint("max_hours IS NOT NULL OR max_bookings IS NOT NULL", name="has_limit"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int | None] = mapped_column(
        ForeignKey("venue_resources.id", ondelete="CASCADE"), index=True
    )
    scope: Mapped[QuotaScope] = mapped_column(str_enum(QuotaScope))
    period: Mapped[QuotaPeriod] = mapped_column(str_enum(QuotaPeriod))
    max_hours: Mapped[float | None] = mapped_column(Float)
    max_bookings: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SurveyResponse(Base):
    """The booker's satisfaction after using a venue: a 1-5 score and an optional comment."""

    __tablename__ = "venue_surveys"
    __table_args__ = (CheckConstraint("score BETWEEN 1 AND 5", name="score_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("venue_bookings.id", ondelete="CASCADE"), unique=True)
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
