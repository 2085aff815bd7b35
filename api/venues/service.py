"""Between the HTTP layer and cityhall.venues: who is booking, what each caller may see, list queries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from api.deps import Principal
from api.venues.schemas import BookerRead, BookingRead, BusySlot, ResourceCreate
from cityhall.audit import add_created
from cityhall.db import utcnow
from cityhall.errors import ConflictError, InvalidInputError, NotFoundError
from cityhall.models import (
    Audience,
    Booking,
    BookingStatus,
    Role,
    SurveyResponse,
    User,
    VenueApplicant,
    VenueFeedKey,
    VenueResource,
)
from cityhall.venues import booking as booking_service
from cityhall.venues import rules

# Who runs the venues: approves applications, manages resources, blackouts and quotas, reads reports.
MANAGERS = (Role.FACILITY_MANAGER,)
# Every signed-in person may book for work; services (API keys) may not.
STAFF = (Role.STAFF, Role.FACILITY_MANAGER, Role.ENERGY_COMMITTEE, Role.MAINTENANCE_CREW, Role.AUDITOR)
SURVEY_STATUSES = (BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN)
MAX_RANGE = timedelta(days=92)


def is_manager(principal: Principal) -> bool:
    """True for venue managers (and admins)."""
    return principal.role is Role.ADMIN or principal.role in MANAGERS


def staff_booker(principal: Principal, department: str = "") -> booking_service.Booker:
    """The booker for a signed-in user."""
    return booking_service.Booker(actor=principal.actor, user_id=principal.user_id, department=department)


def citizen_booker(applicant: VenueApplicant) -> booking_service.Booker:
    """The booker for a citizen applicant; the organisation counts as their department for quotas."""
    return booking_service.Booker(
        actor=f"citizen:{applicant.id}", applicant_id=applicant.id, department=applicant.organisation
    )


def create_resource(session: Session, *, data: ResourceCreate, actor: str) -> VenueResource:
    """Register a bookable resource; 409 naming `code` when it is taken."""
    if session.scalar(select(VenueResource.id).where(VenueResource.code == data.code)) is not None:
        raise ConflictError("code_taken", f"resource {data.code!r} exists already", loc=("body", "code"))
    fields = data.model_dump()
    fields["opening_hours"] = rules.validate_opening_hours(data.opening_hours)
    resource = VenueResource(**fields, is_active=True, created_at=utcnow())
    add_created(session, resource, entity="venue_resource", actor=actor)
    return resource


def _booker_read(session: Session, booking: Booking) -> BookerRead | None:
    if booking.applicant is not None:
        a = booking.applicant
        return BookerRead(
            kind="citizen", name=a.name, email=a.email, phone=a.phone, organisation=a.organisation
        )
    user = session.get(User, booking.user_id) if booking.user_id is not None else None
    if user is None:
        return None
    return BookerRead(
        kind="staff", name=user.full_name, email=user.email, phone=None, organisation=booking.department
    )


def survey_due(session: Session, booking: Booking, *, now: datetime | None = None) -> bool:
    """The booking is over, was used, and its survey is not yet answered."""
    if booking.status not in SURVEY_STATUSES or booking.ends_at > (now or utcnow()):
        return False
    return session.scalar(select(SurveyResponse.id).where(SurveyResponse.booking_id == booking.id)) is None


def booking_read(session: Session, booking: Booking, *, show_booker: bool) -> BookingRead:
    """A booking as the caller may see it: the booker's details only when `show_booker`."""
    return BookingRead(
        id=booking.id,
        resource_id=booking.resource_id,
        resource_name=booking.resource.name,
        series_id=booking.series_id,
        status=booking.status,
        title=booking.title,
        attendees=booking.attendees,
        department=booking.department,
        starts_at=booking.starts_at,
        ends_at=booking.ends_at,
        fee_twd=booking.fee_twd,
        sequence=booking.sequence,
        note=booking.note,
        decided_by=booking.decided_by,
        decided_at=booking.decided_at,
        decision_note=booking.decision_note,
        checked_in_at=booking.checked_in_at,
        created_at=booking.created_at,
        survey_due=survey_due(session, booking),
        booker=_booker_read(session, booking) if show_booker else None,
    )


def owns(principal: Principal, booking: Booking) -> bool:
    """The signed-in caller made this booking."""
    return principal.user_id is not None and booking.user_id == principal.user_id


def ensure_may_manage(principal: Principal, booking: Booking) -> None:
    """The booker or a venue manager; anyone else gets a 404 so ids reveal nothing."""
    if not (owns(principal, booking) or is_manager(principal)):
        raise NotFoundError("booking_not_found", f"no booking {booking.id}")


def ensure_applicant_owns(applicant: VenueApplicant, booking: Booking) -> None:
    """The citizen's own application, or a 404."""
    if booking.applicant_id != applicant.id:
        raise NotFoundError("booking_not_found", f"no application {booking.id}")


def bookings_query(
    *,
    principal: Principal,
    resource_id: int | None,
    statuses: Sequence[BookingStatus],
    starts_after: datetime | None,
    starts_before: datetime | None,
) -> Select[Booking]:
    """Bookings in start order; people other than managers see only their own."""
    stmt = select(Booking).order_by(Booking.starts_at, Booking.id)
    if not is_manager(principal):
        stmt = stmt.where(Booking.user_id == principal.user_id)
    if resource_id is not None:
        stmt = stmt.where(Booking.resource_id == resource_id)
    if statuses:
        stmt = stmt.where(Booking.status.in_(statuses))
    if starts_after is not None:
        stmt = stmt.where(Booking.starts_at >= starts_after)
    if starts_before is not None:
        stmt = stmt.where(Booking.starts_at < starts_before)
    return stmt


def check_range(start: datetime, end: datetime) -> None:
    """A sensible window for availability: end after start, at most 92 days."""
    if end <= start:
        raise InvalidInputError("ends_before_start", "`end` must be after `start`", loc=("query", "end"))
    if end - start > MAX_RANGE:
        raise InvalidInputError("range_too_long", "ask for at most 92 days at a time", loc=("query", "end"))


def busy_slots(
    session: Session, *, resource: VenueResource, start: datetime, end: datetime
) -> list[BusySlot]:
    """When a resource is taken (tentative or confirmed) or closed, with no personal data."""
    check_range(start, end)
    slots = [
        BusySlot(
            starts_at=b.starts_at,
            ends_at=b.ends_at,
            status="tentative" if b.status is BookingStatus.PENDING else "confirmed",
            label="Requested" if b.status is BookingStatus.PENDING else "Booked",
        )
        for b in session.scalars(booking_service.active_overlapping(resource.id, start, end))
    ]
    slots += [
        BusySlot(starts_at=b.starts_at, ends_at=b.ends_at, status="closed", label=b.reason)
        for b in booking_service.blackouts_between(
            session, resource_id=resource.id, starts_at=start, ends_at=end
        )
    ]
    return sorted(slots, key=lambda s: s.starts_at)


def public_resources(session: Session) -> Sequence[VenueResource]:
    """Active resources citizens may apply for."""
    return session.scalars(
        select(VenueResource)
        .where(VenueResource.is_active.is_(True), VenueResource.audience == Audience.PUBLIC)
        .order_by(VenueResource.code)
    ).all()


def rotate_feed_key(session: Session, *, user_id: int) -> str:
    """A new calendar-feed key for a user; the old one stops working."""
    key, digest = rules.new_secret_key()
    row = session.scalars(select(VenueFeedKey).where(VenueFeedKey.user_id == user_id)).first()
    if row is None:
        session.add(VenueFeedKey(user_id=user_id, key_sha256=digest, created_at=utcnow()))
    else:
        row.key_sha256 = digest
        row.created_at = utcnow()
    return key
