"""The booking service: validate, detect conflicts (buffer included), book once or recurring, approve or
reject citizens' applications, cancel, check in, and release no-shows. Every change is audited.

Concurrency: a booking first locks its resource (lock_resource), so the overlap check sees every committed
booking and the 409 names the one that won; the database has the last word all the same (an exclusion
constraint on PostgreSQL, a trigger on SQLite) for any writer that skips the lock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cityhall.audit import add_created, record, snapshot
from cityhall.db import utcnow
from cityhall.errors import ConflictError, DomainError, InvalidInputError, NotFoundError
from cityhall.models import (
    ACTIVE_BOOKING_STATUSES,
    Audience,
    Blackout,
    Booking,
    BookingSeries,
    BookingStatus,
    Quota,
    QuotaScope,
    VenueApplicant,
    VenueResource,
)
from cityhall.venues import recurrence, rules
from cityhall.venues.rules import TAIPEI

OVERLAP_CONSTRAINT = "ex_venue_bookings_no_overlap"
RELEASE_ACTOR = "system:venues"
CHECK_IN_EARLY = timedelta(minutes=15)


class SlotTakenError(ConflictError):
    """The slot (buffer included) overlaps an active booking, named in the message and `booking_id`."""

    def __init__(self, other: Booking, *, loc: tuple[str | int, ...] = ("body", "starts_at")) -> None:
        local = other.starts_at.astimezone(TAIPEI)
        end = other.ends_at.astimezone(TAIPEI)
        state = "tentatively " if other.status is BookingStatus.PENDING else ""
        super().__init__(
            "slot_taken",
            f"the slot overlaps booking {other.id} ({state}booked {local:%Y-%m-%d %H:%M}-{end:%H:%M} "
            f"Asia/Taipei, plus {_buffer_minutes(other)} minutes' buffer)",
            loc=loc,
        )
        self.booking_id = other.id


def _buffer_minutes(booking: Booking) -> int:
    return int((booking.block_until - booking.ends_at).total_seconds() // 60)


@dataclass(frozen=True, slots=True)
class Booker:
    """Who books: a signed-in user or a citizen applicant; `actor` is written to the audit log."""

    actor: str
    user_id: int | None = None
    applicant_id: int | None = None
    department: str = ""

    @property
    def is_citizen(self) -> bool:
        """A citizen applying through the public pages (not a signed-in user)."""
        return self.user_id is None


@dataclass(frozen=True, slots=True)
class SlotRequest:
    """What is asked for: a title, a time range (aware datetimes) and the number of people."""

    title: str
    starts_at: datetime
    ends_at: datetime
    attendees: int
    note: str = ""


@dataclass(frozen=True, slots=True)
class SkippedDate:
    """An occurrence of a series left out because it could not be booked, and why."""

    starts_at: datetime
    code: str
    reason: str


@dataclass(slots=True)
class SeriesResult:
    """A booked series: its bookings and the dates skipped (only with free_dates_only)."""

    series: BookingSeries
    bookings: list[Booking] = field(default_factory=list)
    skipped: list[SkippedDate] = field(default_factory=list)


# --- reading ---


def get_resource(session: Session, resource_id: int, *, citizen: bool = False) -> VenueResource:
    """An active resource; citizens see public ones only (an internal room is a 404 to them)."""
    resource = session.get(VenueResource, resource_id)
    if resource is None or not resource.is_active or (citizen and resource.audience is not Audience.PUBLIC):
        raise NotFoundError(
            "resource_not_found", f"no bookable resource {resource_id}", loc=("body", "resource_id")
        )
    return resource


def get_booking(session: Session, booking_id: int) -> Booking:
    """A booking by id, or 404."""
    booking = session.get(Booking, booking_id)
    if booking is None:
        raise NotFoundError("booking_not_found", f"no booking {booking_id}")
    return booking


def active_overlapping(resource_id: int, starts_at: datetime, block_until: datetime) -> Select[Booking]:
    """Active bookings of a resource whose held range [starts_at, block_until) meets the given one."""
    return (
        select(Booking)
        .where(
            Booking.resource_id == resource_id,
            Booking.status.in_(ACTIVE_BOOKING_STATUSES),
            Booking.starts_at < block_until,
            Booking.block_until > starts_at,
        )
        .order_by(Booking.starts_at, Booking.id)
    )


def find_conflict(
    session: Session,
    *,
    resource_id: int,
    starts_at: datetime,
    block_until: datetime,
    exclude_id: int | None = None,
) -> Booking | None:
    """The first active booking that overlaps the held range, or None."""
    stmt = active_overlapping(resource_id, starts_at, block_until)
    if exclude_id is not None:
        stmt = stmt.where(Booking.id != exclude_id)
    return session.scalars(stmt.limit(1)).first()


def blackouts_between(
    session: Session, *, resource_id: int, starts_at: datetime, ends_at: datetime
) -> Sequence[Blackout]:
    """Blackouts of the resource (or of every resource) that meet [starts_at, ends_at)."""
    return session.scalars(
        select(Blackout)
        .where(
            or_(Blackout.resource_id.is_(None), Blackout.resource_id == resource_id),
            Blackout.starts_at < ends_at,
            Blackout.ends_at > starts_at,
        )
        .order_by(Blackout.starts_at)
    ).all()


# --- validation ---


def check_blackouts(
    session: Session, resource: VenueResource, starts_at: datetime, ends_at: datetime
) -> None:
    """Refuse a booking on a blackout or (when the resource closes on them) a Taiwan public holiday."""
    found = blackouts_between(session, resource_id=resource.id, starts_at=starts_at, ends_at=ends_at)
    if found:
        day = found[0].starts_at.astimezone(TAIPEI)
        raise InvalidInputError(
            "blackout", f"closed from {day:%Y-%m-%d %H:%M}: {found[0].reason}", loc=rules.STARTS
        )
    if resource.closed_on_holidays:
        rules.check_holidays(starts_at, ends_at)


def _booked_in_period(
    session: Session, quota: Quota, booker: Booker, start: datetime, end: datetime
) -> tuple[float, int]:
    stmt = select(Booking.starts_at, Booking.ends_at).where(
        Booking.status.in_(ACTIVE_BOOKING_STATUSES), Booking.starts_at >= start, Booking.starts_at < end
    )
    if quota.resource_id is not None:
        stmt = stmt.where(Booking.resource_id == quota.resource_id)
    if quota.scope is QuotaScope.DEPARTMENT:
        stmt = stmt.where(Booking.department == booker.department)
    elif booker.user_id is not None:
        stmt = stmt.where(Booking.user_id == booker.user_id)
    else:
        stmt = stmt.where(Booking.applicant_id == booker.applicant_id)
    rows = session.execute(stmt).all()
    return sum(rules.hours_between(s, e) for s, e in rows), len(rows)


def check_quotas(session: Session, resource: VenueResource, booker: Booker, request: SlotRequest) -> None:
    """Refuse a booking that would take the booker (or their department) over a quota."""
    quotas = session.scalars(
        select(Quota)
        .where(or_(Quota.resource_id.is_(None), Quota.resource_id == resource.id))
        .order_by(Quota.id)
    ).all()
    for quota in quotas:
        if quota.scope is QuotaScope.DEPARTMENT and not booker.department:
            continue
        start, end = rules.period_bounds(quota.period, request.starts_at)
        hours, count = _booked_in_period(session, quota, booker, start, end)
        whom = f"department {booker.department}" if quota.scope is QuotaScope.DEPARTMENT else "you"
        new_hours = rules.hours_between(request.starts_at, request.ends_at)
        if quota.max_hours is not None and hours + new_hours > quota.max_hours + 1e-9:
            raise InvalidInputError(
                "over_quota",
                f"{whom} may book {quota.max_hours:g} hours per {quota.period.value}; "
                f"{hours:g} booked already, {new_hours:g} asked",
                loc=rules.ENDS,
            )
        if quota.max_bookings is not None and count + 1 > quota.max_bookings:
            raise InvalidInputError(
                "over_quota",
                f"{whom} may make {quota.max_bookings} bookings per {quota.period.value}; "
                f"{count} made already",
                loc=rules.STARTS,
            )


def validate(
    session: Session, resource: VenueResource, booker: Booker, request: SlotRequest, *, now: datetime
) -> None:
    """Every rule except overlap: times, capacity, opening hours, holidays, blackouts and quotas."""
    if booker.is_citizen and resource.audience is not Audience.PUBLIC:
        raise NotFoundError(
            "resource_not_found", f"no public venue {resource.id}", loc=("body", "resource_id")
        )
    rules.check_times(
        request.starts_at,
        request.ends_at,
        now=now,
        min_notice_minutes=resource.min_notice_minutes,
        max_duration_minutes=resource.max_duration_minutes,
    )
    rules.check_capacity(request.attendees, resource.capacity_people)
    rules.check_opening_hours(resource.opening_hours, request.starts_at, request.ends_at)
    check_blackouts(session, resource, request.starts_at, request.ends_at)
    check_quotas(session, resource, booker, request)


# --- writing ---


def _new_booking(resource: VenueResource, booker: Booker, request: SlotRequest, *, now: datetime) -> Booking:
    status = (
        BookingStatus.PENDING if booker.is_citizen and resource.requires_approval else BookingStatus.CONFIRMED
    )
    return Booking(
        resource_id=resource.id,
        status=status,
        title=request.title,
        attendees=request.attendees,
        department=booker.department,
        user_id=booker.user_id,
        applicant_id=booker.applicant_id,
        starts_at=request.starts_at.astimezone(UTC),
        ends_at=request.ends_at.astimezone(UTC),
        block_until=request.ends_at.astimezone(UTC) + timedelta(minutes=resource.buffer_minutes),
        fee_twd=rules.booking_fee(resource.fee_per_hour_twd, request.starts_at, request.ends_at),
        note=request.note,
        created_by=booker.actor,
        created_at=now,
        updated_at=now,
    )


def _is_overlap_violation(err: IntegrityError) -> bool:
    return OVERLAP_CONSTRAINT in str(err.orig)


def lock_resource(session: Session, resource_id: int) -> None:
    """Serialise bookings of one resource until the transaction ends, so the overlap and quota checks see
    every committed booking: a no-op UPDATE takes the row lock on PostgreSQL and the write lock on SQLite."""
    session.execute(
        update(VenueResource).where(VenueResource.id == resource_id).values(id=VenueResource.id),
        execution_options={"synchronize_session": False},
    )


def insert_bookings(session: Session, bookings: Sequence[Booking], *, actor: str) -> None:
    """Insert and audit bookings. Should the database still refuse an overlap (a writer that skipped
    lock_resource), the caller's transaction is unusable: raise a 409 and let it roll back."""
    try:
        for booking in bookings:
            add_created(session, booking, entity="venue_booking", actor=actor)
    except IntegrityError as err:
        if not _is_overlap_violation(err):
            raise
        raise ConflictError("slot_taken", "the slot was taken by a concurrent booking; try again") from err


def create_booking(
    session: Session,
    *,
    resource: VenueResource,
    booker: Booker,
    request: SlotRequest,
    now: datetime | None = None,
) -> Booking:
    """Book a slot once: pending for a citizen when the resource needs approval, confirmed otherwise."""
    at = now or utcnow()
    lock_resource(session, resource.id)
    validate(session, resource, booker, request, now=at)
    booking = _new_booking(resource, booker, request, now=at)
    other = find_conflict(
        session, resource_id=resource.id, starts_at=booking.starts_at, block_until=booking.block_until
    )
    if other is not None:
        raise SlotTakenError(other)
    insert_bookings(session, [booking], actor=booker.actor)
    return booking


def _occurrence_problem(
    session: Session, resource: VenueResource, booker: Booker, request: SlotRequest, *, now: datetime
) -> DomainError | None:
    try:
        validate(session, resource, booker, request, now=now)
    except DomainError as err:
        return err
    block_until = request.ends_at.astimezone(UTC) + timedelta(minutes=resource.buffer_minutes)
    other = find_conflict(
        session, resource_id=resource.id, starts_at=request.starts_at.astimezone(UTC), block_until=block_until
    )
    return SlotTakenError(other) if other is not None else None


def create_series(
    session: Session,
    *,
    resource: VenueResource,
    booker: Booker,
    title: str,
    attendees: int,
    rrule: str,
    dtstart: datetime,
    duration_minutes: int,
    exdates: Sequence[datetime] = (),
    free_dates_only: bool = False,
    note: str = "",
    now: datetime | None = None,
) -> SeriesResult:
    """Book a recurring series, one booking per occurrence (exdates left out).

    With `free_dates_only`, occurrences that cannot be booked (taken, holiday, blackout, over quota) are
    skipped and reported; otherwise the first such occurrence refuses the whole series, naming its date.
    """
    at = now or utcnow()
    if duration_minutes <= 0:
        raise InvalidInputError(
            "invalid_duration", "duration_minutes must be positive", loc=("body", "duration_minutes")
        )
    lock_resource(session, resource.id)
    occurrences = recurrence.expand(
        rrule, dtstart=dtstart, duration=timedelta(minutes=duration_minutes), exdates=exdates
    )
    series = BookingSeries(
        resource_id=resource.id,
        title=title,
        rrule=recurrence.rrule_body(rrule),
        # DTSTART is the first occurrence, as RFC 5545 wants (a DTSTART off the rule is undefined there).
        dtstart=recurrence.first_start(rrule, dtstart=dtstart),
        duration_minutes=duration_minutes,
        exdates=[d.astimezone(UTC).isoformat() for d in exdates],
        free_dates_only=free_dates_only,
        created_by=booker.actor,
        created_at=at,
        updated_at=at,
    )
    add_created(session, series, entity="venue_series", actor=booker.actor)
    result = SeriesResult(series=series)
    for occurrence in occurrences:
        request = SlotRequest(title, occurrence.starts_at, occurrence.ends_at, attendees, note)
        problem = _occurrence_problem(session, resource, booker, request, now=at)
        if problem is not None:
            if not free_dates_only:
                local = occurrence.starts_at.astimezone(TAIPEI)
                problem.message = f"{local:%Y-%m-%d}: {problem.message}"
                problem.args = (problem.message,)
                raise problem
            result.skipped.append(SkippedDate(occurrence.starts_at, problem.code, problem.message))
            continue
        booking = _new_booking(resource, booker, request, now=at)
        booking.series_id = series.id
        booking.recurrence_id = occurrence.recurrence_id
        insert_bookings(session, [booking], actor=booker.actor)
        result.bookings.append(booking)
    if not result.bookings:
        raise ConflictError(
            "no_free_dates", "no occurrence of the series can be booked", loc=("body", "rrule")
        )
    return result


def _change(booking: Booking, *, now: datetime) -> dict[str, Any]:
    """Snapshot a booking before a change and bump its iCalendar SEQUENCE."""
    before = snapshot(booking)
    booking.sequence += 1
    booking.updated_at = now
    return before


def _audit(session: Session, booking: Booking, *, actor: str, action: str, before: dict[str, Any]) -> None:
    record(
        session,
        actor=actor,
        action=action,
        entity="venue_booking",
        entity_id=booking.id,
        before=before,
        after=snapshot(booking),
    )


def decide(
    session: Session,
    *,
    booking: Booking,
    approve: bool,
    actor: str,
    note: str | None = None,
    now: datetime | None = None,
) -> list[Booking]:
    """Approve or reject a pending application; for a series, every pending occurrence of it."""
    at = now or utcnow()
    if booking.status is not BookingStatus.PENDING:
        raise ConflictError(
            "not_pending",
            f"booking {booking.id} is {booking.status.value}, not pending",
            loc=("body", "approve"),
        )
    if not approve and not note:
        raise InvalidInputError("reason_required", "give the applicant a reason", loc=("body", "note"))
    targets = [booking]
    if booking.series_id is not None:
        targets = list(
            session.scalars(
                select(Booking)
                .where(Booking.series_id == booking.series_id, Booking.status == BookingStatus.PENDING)
                .order_by(Booking.starts_at)
            )
        )
    for target in targets:
        before = _change(target, now=at)
        target.status = BookingStatus.CONFIRMED if approve else BookingStatus.REJECTED
        target.decided_by = actor
        target.decided_at = at
        target.decision_note = note
        _audit(session, target, actor=actor, action="approve" if approve else "reject", before=before)
    return targets


def cancel(session: Session, *, booking: Booking, actor: str, now: datetime | None = None) -> Booking:
    """Cancel a booking that has not ended; a series occurrence becomes an EXDATE of its series."""
    at = now or utcnow()
    if booking.status not in ACTIVE_BOOKING_STATUSES:
        raise ConflictError("not_active", f"booking {booking.id} is {booking.status.value} already")
    if booking.ends_at <= at:
        raise ConflictError("already_over", f"booking {booking.id} has ended")
    before = _change(booking, now=at)
    booking.status = BookingStatus.CANCELLED
    booking.cancelled_at = at
    _audit(session, booking, actor=actor, action="cancel", before=before)
    series = booking.series
    if series is not None and booking.recurrence_id is not None:
        series.exdates = [*series.exdates, booking.recurrence_id.astimezone(UTC).isoformat()]
        series.sequence += 1
        series.updated_at = at
    return booking


def check_in(session: Session, *, booking: Booking, actor: str, now: datetime | None = None) -> Booking:
    """Check in from 15 minutes before the start until the end."""
    at = now or utcnow()
    if booking.status is not BookingStatus.CONFIRMED:
        raise ConflictError("not_confirmed", f"booking {booking.id} is {booking.status.value}, not confirmed")
    if not booking.starts_at - CHECK_IN_EARLY <= at < booking.ends_at:
        opens = (booking.starts_at - CHECK_IN_EARLY).astimezone(TAIPEI)
        raise ConflictError(
            "check_in_closed", f"check-in opens at {opens:%Y-%m-%d %H:%M} and closes at the end"
        )
    before = _change(booking, now=at)
    booking.status = BookingStatus.CHECKED_IN
    booking.checked_in_at = at
    _audit(session, booking, actor=actor, action="check_in", before=before)
    return booking


def release_no_shows(session: Session, *, now: datetime | None = None) -> list[Booking]:
    """Release confirmed bookings not checked in within the grace period (resources requiring check-in),
    and expire applications still pending when their time came. Called by the housekeeping pass."""
    at = now or utcnow()
    candidates = session.scalars(
        select(Booking)
        .join(VenueResource, VenueResource.id == Booking.resource_id)
        .where(
            or_(
                (Booking.status == BookingStatus.CONFIRMED)
                & VenueResource.check_in_required.is_(True)
                & (Booking.ends_at > at - timedelta(days=1)),
                (Booking.status == BookingStatus.PENDING) & (Booking.starts_at <= at),
            )
        )
        .order_by(Booking.id)
    ).all()
    released = []
    for booking in candidates:
        if booking.status is BookingStatus.CONFIRMED:
            if booking.starts_at + timedelta(minutes=booking.resource.check_in_grace_minutes) > at:
                continue
            action, status = "no_show", BookingStatus.NO_SHOW
        else:
            action, status = "expire", BookingStatus.REJECTED
            booking.decision_note = "not decided before the booking began"
        before = _change(booking, now=at)
        booking.status = status
        _audit(session, booking, actor=RELEASE_ACTOR, action=action, before=before)
        released.append(booking)
    return released


# --- citizens ---


@dataclass(frozen=True, slots=True)
class NewApplicant:
    """A citizen's record and the two keys shown to them once: to manage applications and to subscribe."""

    applicant: VenueApplicant
    key: str
    feed_key: str


def create_applicant(
    session: Session, *, name: str, email: str, phone: str, organisation: str = ""
) -> NewApplicant:
    """Register a citizen applicant; only the SHA-256 of each key is stored."""
    key, digest = rules.new_secret_key()
    feed_key, feed_digest = rules.new_secret_key()
    applicant = VenueApplicant(
        name=name,
        email=email,
        phone=phone,
        organisation=organisation,
        key_sha256=digest,
        feed_key_sha256=feed_digest,
    )
    add_created(session, applicant, entity="venue_applicant", actor=f"citizen:{email}")
    return NewApplicant(applicant, key, feed_key)


def applicant_by_key(session: Session, key: str) -> VenueApplicant | None:
    """The applicant holding a key, or None."""
    return session.scalars(
        select(VenueApplicant).where(VenueApplicant.key_sha256 == rules.key_digest(key))
    ).first()


def count_pending(session: Session) -> int:
    """How many applications wait for a decision."""
    return session.scalar(select(func.count()).where(Booking.status == BookingStatus.PENDING)) or 0
