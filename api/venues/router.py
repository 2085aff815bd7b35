"""Venue booking: staff book, managers approve citizens' applications, citizens apply through public routes.

Public routes (availability, applications, calendar feeds) never show anyone's personal data: a citizen's
own applications are reached with the private key they were given, never by id alone.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status
from sqlalchemy import select

from api.deps import Principal, PublicRoute, SessionDep, require_roles
from api.pagination import Page, PageDep, paginate
from api.venues import service
from api.venues.dependencies import (
    CurrentApplicant,
    OptionalApplicant,
    RateLimit,
    ValidBooking,
    ValidResource,
)
from api.venues.pages import router as pages_router
from api.venues.reports import router as reports_router
from api.venues.schemas import (
    ApplicationCreate,
    ApplicationCreated,
    BlackoutCreate,
    BlackoutRead,
    BookingCreate,
    BookingRead,
    BusySlot,
    DecisionCreate,
    FeedRead,
    QuotaCreate,
    QuotaRead,
    ResourceCreate,
    ResourceRead,
    SeriesCreate,
    SeriesRead,
    SkippedRead,
    SurveyCreate,
    SurveyRead,
)
from cityhall.audit import add_created
from cityhall.db import utcnow
from cityhall.errors import ConflictError, InvalidInputError, NotFoundError
from cityhall.models import (
    Blackout,
    Booking,
    BookingStatus,
    Quota,
    SurveyResponse,
    VenueApplicant,
    VenueFeedKey,
    VenueResource,
)
from cityhall.venues import booking as booking_service
from cityhall.venues import calendar, rules

router = APIRouter(prefix="/venues", tags=["venues"])

Staff = Annotated[Principal, Depends(require_roles(*service.STAFF))]
Manager = Annotated[Principal, Depends(require_roles(*service.MANAGERS))]
ICS = "text/calendar; charset=utf-8"


def _commit_here(session: SessionDep) -> None:
    """Commit in the route's own worker thread. A booking holds its resource's lock until commit; left to the
    session dependency's teardown, the commit would need another worker thread, and with every worker busy
    waiting for that lock, simultaneous bookings of one resource would deadlock."""
    session.commit()


def _application_limit(request: Request) -> None:
    """At most 10 applications per 10 minutes from one address (ARCHITECTURE.md §6), counted per app."""
    state = request.app.state
    if not hasattr(state, "venue_application_limit"):
        state.venue_application_limit = RateLimit(limit=10, window_s=600)
    limit: RateLimit = state.venue_application_limit
    limit(request)


# --- resources ---


@router.get("/resources", response_model=Page[ResourceRead])
def list_resources(who: Staff, session: SessionDep, page: PageDep) -> Page[ResourceRead]:
    """Every active bookable resource, public and internal."""
    stmt = select(VenueResource).where(VenueResource.is_active.is_(True)).order_by(VenueResource.code)
    return paginate(session, stmt, page, ResourceRead.model_validate)


@router.post("/resources", response_model=ResourceRead, status_code=status.HTTP_201_CREATED)
def create_resource(who: Manager, data: ResourceCreate, session: SessionDep) -> ResourceRead:
    """Register a hall, meeting room, venue or dormitory room."""
    return ResourceRead.model_validate(service.create_resource(session, data=data, actor=who.actor))


@router.get("/resources/{resource_id}/busy", response_model=list[BusySlot])
def resource_busy(
    who: Staff, resource: ValidResource, session: SessionDep, start: datetime, end: datetime
) -> list[BusySlot]:
    """When a resource is taken or closed between `start` and `end` (at most 92 days)."""
    return service.busy_slots(session, resource=resource, start=start, end=end)


# --- staff bookings ---


@router.get("/bookings", response_model=Page[BookingRead])
def list_bookings(
    *,
    who: Staff,
    session: SessionDep,
    page: PageDep,
    resource_id: int | None = None,
    status_: Annotated[list[BookingStatus] | None, Query(alias="status")] = None,
    starts_after: datetime | None = None,
    starts_before: datetime | None = None,
) -> Page[BookingRead]:
    """Bookings in start order: your own, or everyone's for venue managers."""
    stmt = service.bookings_query(
        principal=who,
        resource_id=resource_id,
        statuses=status_ or (),
        starts_after=starts_after,
        starts_before=starts_before,
    )
    return paginate(session, stmt, page, lambda b: service.booking_read(session, b, show_booker=True))


@router.post("/bookings", response_model=BookingRead, status_code=status.HTTP_201_CREATED)
def create_booking(who: Staff, data: BookingCreate, session: SessionDep) -> BookingRead:
    """Book a slot; 409 naming the booking it overlaps (buffer included), 422 naming the field otherwise."""
    resource = booking_service.get_resource(session, data.resource_id)
    booking = booking_service.create_booking(
        session,
        resource=resource,
        booker=service.staff_booker(who, data.department),
        request=booking_service.SlotRequest(
            data.title, data.starts_at, data.ends_at, data.attendees, data.note
        ),
    )
    _commit_here(session)
    return service.booking_read(session, booking, show_booker=True)


@router.post("/series", response_model=SeriesRead, status_code=status.HTTP_201_CREATED)
def create_series(who: Staff, data: SeriesCreate, session: SessionDep) -> SeriesRead:
    """Book a recurring series; with `free_dates_only` the dates that cannot be booked are skipped."""
    resource = booking_service.get_resource(session, data.resource_id)
    result = booking_service.create_series(
        session,
        resource=resource,
        booker=service.staff_booker(who, data.department),
        title=data.title,
        attendees=data.attendees,
        rrule=data.rrule,
        dtstart=data.dtstart,
        duration_minutes=data.duration_minutes,
        exdates=data.exdates,
        free_dates_only=data.free_dates_only,
        note=data.note,
    )
    _commit_here(session)
    return SeriesRead(
        series_id=result.series.id,
        rrule=result.series.rrule,
        bookings=[service.booking_read(session, b, show_booker=True) for b in result.bookings],
        skipped=[SkippedRead(starts_at=s.starts_at, code=s.code, reason=s.reason) for s in result.skipped],
    )


@router.get("/bookings/{booking_id}", response_model=BookingRead)
def get_booking(who: Staff, booking: ValidBooking, session: SessionDep) -> BookingRead:
    """One booking: your own, or any for venue managers."""
    service.ensure_may_manage(who, booking)
    return service.booking_read(session, booking, show_booker=True)


@router.post("/bookings/{booking_id}/cancel", response_model=BookingRead)
def cancel_booking(who: Staff, booking: ValidBooking, session: SessionDep) -> BookingRead:
    """Cancel your booking (managers: any) before it ends; the slot is free at once."""
    service.ensure_may_manage(who, booking)
    booking_service.cancel(session, booking=booking, actor=who.actor)
    return service.booking_read(session, booking, show_booker=True)


@router.post("/bookings/{booking_id}/check-in", response_model=BookingRead)
def check_in(who: Staff, booking: ValidBooking, session: SessionDep) -> BookingRead:
    """Check in from 15 minutes before the start; resources requiring check-in release no-shows."""
    service.ensure_may_manage(who, booking)
    booking_service.check_in(session, booking=booking, actor=who.actor)
    return service.booking_read(session, booking, show_booker=True)


@router.post("/bookings/{booking_id}/survey", response_model=SurveyRead, status_code=status.HTTP_201_CREATED)
def answer_survey(who: Staff, booking: ValidBooking, data: SurveyCreate, session: SessionDep) -> SurveyRead:
    """Rate your booking once it is over."""
    if not service.owns(who, booking):
        raise NotFoundError("booking_not_found", f"no booking {booking.id}")
    return SurveyRead.model_validate(_record_survey(session, booking, data, actor=who.actor))


def _record_survey(
    session: SessionDep, booking: Booking, data: SurveyCreate, *, actor: str
) -> SurveyResponse:
    if not service.survey_due(session, booking):
        raise ConflictError(
            "survey_not_due", f"booking {booking.id} has no survey to answer (not over, or answered)"
        )
    answer = SurveyResponse(
        booking_id=booking.id, score=data.score, comment=data.comment, created_at=utcnow()
    )
    add_created(session, answer, entity="venue_survey", actor=actor)
    return answer


# --- approval, blackouts and quotas (venue managers) ---


@router.get("/approvals", response_model=Page[BookingRead])
def approval_queue(who: Manager, session: SessionDep, page: PageDep) -> Page[BookingRead]:
    """Applications awaiting a decision, oldest request first."""
    stmt = (
        select(Booking)
        .where(Booking.status == BookingStatus.PENDING)
        .order_by(Booking.created_at, Booking.id)
    )
    return paginate(session, stmt, page, lambda b: service.booking_read(session, b, show_booker=True))


@router.post("/bookings/{booking_id}/decision", response_model=list[BookingRead])
def decide(
    who: Manager, booking: ValidBooking, data: DecisionCreate, session: SessionDep
) -> list[BookingRead]:
    """Approve or reject a pending application (all pending dates of a series together)."""
    decided = booking_service.decide(
        session, booking=booking, approve=data.approve, note=data.note, actor=who.actor
    )
    return [service.booking_read(session, b, show_booker=True) for b in decided]


@router.post("/blackouts", response_model=BlackoutRead, status_code=status.HTTP_201_CREATED)
def create_blackout(who: Manager, data: BlackoutCreate, session: SessionDep) -> BlackoutRead:
    """Close a resource (or every resource) for a period; existing bookings stay and are listed to handle."""
    if data.ends_at <= data.starts_at:
        raise InvalidInputError("ends_before_start", "the blackout must end after it starts", loc=rules.ENDS)
    if data.resource_id is not None:
        booking_service.get_resource(session, data.resource_id)
    blackout = Blackout(**data.model_dump(), created_by=who.actor, created_at=utcnow())
    add_created(session, blackout, entity="venue_blackout", actor=who.actor)
    return BlackoutRead.model_validate(blackout)


@router.post("/quotas", response_model=QuotaRead, status_code=status.HTTP_201_CREATED)
def create_quota(who: Manager, data: QuotaCreate, session: SessionDep) -> QuotaRead:
    """Limit booked hours and/or bookings per person or department per day, week, month or year."""
    if data.max_hours is None and data.max_bookings is None:
        raise InvalidInputError("no_limit", "give max_hours or max_bookings", loc=("body", "max_hours"))
    if data.resource_id is not None:
        booking_service.get_resource(session, data.resource_id)
    quota = Quota(**data.model_dump(), created_at=utcnow())
    add_created(session, quota, entity="venue_quota", actor=who.actor)
    return QuotaRead.model_validate(quota)


# --- calendar feeds ---


@router.post("/feed", response_model=FeedRead)
def new_feed_key(who: Staff, request: Request, session: SessionDep) -> FeedRead:
    """A private iCalendar subscription URL of your bookings (a new one replaces the old)."""
    if who.user_id is None:  # pragma: no cover - services hold no STAFF role
        raise InvalidInputError("not_a_person", "only people have calendars")
    key = service.rotate_feed_key(session, user_id=who.user_id)
    return FeedRead(feed_url=str(request.url_for("personal_feed", key=key)))


@router.get("/feeds/{key}.ics", dependencies=[PublicRoute], name="personal_feed")
def personal_feed(key: str, session: SessionDep) -> Response:
    """Your bookings as iCalendar, for a calendar app: the key in the URL is the only credential."""
    digest = rules.key_digest(key)
    applicant = session.scalars(
        select(VenueApplicant).where(VenueApplicant.feed_key_sha256 == digest)
    ).first()
    owner = session.scalars(select(VenueFeedKey).where(VenueFeedKey.key_sha256 == digest)).first()
    if applicant is None and owner is None:
        raise NotFoundError("feed_not_found", "no calendar at this address; ask for a new subscription link")
    start, end = calendar.feed_window(utcnow())
    stmt = (
        select(Booking).where(Booking.starts_at >= start, Booking.starts_at < end).order_by(Booking.starts_at)
    )
    if applicant is not None:
        stmt = stmt.where(Booking.applicant_id == applicant.id)
    elif owner is not None:
        stmt = stmt.where(Booking.user_id == owner.user_id)
    body = calendar.feed("My venue bookings", session.scalars(stmt).all(), private=True)
    return Response(body, media_type=ICS)


@router.get("/public/resources/{resource_id}/calendar.ics", dependencies=[PublicRoute])
def resource_feed(resource_id: int, session: SessionDep) -> Response:
    """A public venue's bookings as iCalendar: times and status only, no one's name or purpose."""
    resource = booking_service.get_resource(session, resource_id, citizen=True)
    start, end = calendar.feed_window(utcnow())
    stmt = (
        select(Booking)
        .where(Booking.resource_id == resource.id, Booking.starts_at >= start, Booking.starts_at < end)
        .order_by(Booking.starts_at)
    )
    return Response(calendar.feed(resource.name, session.scalars(stmt).all(), private=False), media_type=ICS)


# --- citizens (public) ---


@router.get("/public/resources", response_model=list[ResourceRead], dependencies=[PublicRoute])
def public_resources(session: SessionDep) -> list[ResourceRead]:
    """The venues citizens may apply for."""
    return [ResourceRead.model_validate(r) for r in service.public_resources(session)]


@router.get("/public/resources/{resource_id}/busy", response_model=list[BusySlot], dependencies=[PublicRoute])
def public_busy(resource_id: int, session: SessionDep, start: datetime, end: datetime) -> list[BusySlot]:
    """When a public venue is taken (tentative or confirmed) or closed; no personal data."""
    resource = booking_service.get_resource(session, resource_id, citizen=True)
    return service.busy_slots(session, resource=resource, start=start, end=end)


@router.post(
    "/public/applications",
    response_model=ApplicationCreated,
    status_code=status.HTTP_201_CREATED,
    dependencies=[PublicRoute, Depends(_application_limit)],
)
def apply(
    data: ApplicationCreate, request: Request, session: SessionDep, returning: OptionalApplicant
) -> ApplicationCreated:
    """Apply for a public venue. A first application returns the private keys; send X-Applicant-Key later."""
    resource = booking_service.get_resource(session, data.resource_id, citizen=True)
    new = None
    applicant = returning
    if applicant is None:
        new = booking_service.create_applicant(
            session, name=data.name, email=data.email, phone=data.phone, organisation=data.organisation
        )
        applicant = new.applicant
    booking = booking_service.create_booking(
        session,
        resource=resource,
        booker=service.citizen_booker(applicant),
        request=booking_service.SlotRequest(
            data.title, data.starts_at, data.ends_at, data.attendees, data.note
        ),
    )
    _commit_here(session)
    return ApplicationCreated(
        booking=service.booking_read(session, booking, show_booker=True),
        applicant_key=new.key if new else None,
        feed_url=str(request.url_for("personal_feed", key=new.feed_key)) if new else None,
    )


@router.get("/public/applications", response_model=list[BookingRead], dependencies=[PublicRoute])
def my_applications(applicant: CurrentApplicant, session: SessionDep) -> list[BookingRead]:
    """Your own applications (X-Applicant-Key), newest first."""
    rows = session.scalars(
        select(Booking)
        .where(Booking.applicant_id == applicant.id)
        .order_by(Booking.starts_at.desc(), Booking.id.desc())
        .limit(200)
    ).all()
    return [service.booking_read(session, b, show_booker=True) for b in rows]


@router.post(
    "/public/applications/{booking_id}/cancel", response_model=BookingRead, dependencies=[PublicRoute]
)
def cancel_application(
    applicant: CurrentApplicant, booking: ValidBooking, session: SessionDep
) -> BookingRead:
    """Withdraw your application or cancel your booking before it ends."""
    service.ensure_applicant_owns(applicant, booking)
    booking_service.cancel(session, booking=booking, actor=f"citizen:{applicant.id}")
    return service.booking_read(session, booking, show_booker=True)


@router.post(
    "/public/applications/{booking_id}/survey",
    response_model=SurveyRead,
    status_code=status.HTTP_201_CREATED,
    dependencies=[PublicRoute],
)
def citizen_survey(
    applicant: CurrentApplicant, booking: ValidBooking, data: SurveyCreate, session: SessionDep
) -> SurveyRead:
    """Tell us how it went, once your booking is over."""
    service.ensure_applicant_owns(applicant, booking)
    return SurveyRead.model_validate(_record_survey(session, booking, data, actor=f"citizen:{applicant.id}"))


# The server-rendered pages (public calendar and application form, staff booking, approval queue), and
# the reports (/venues/reports/...).
router.include_router(pages_router)
router.include_router(reports_router)
