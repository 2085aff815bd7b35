"""Server-rendered venue pages (Jinja2): the public week calendar and application form, the staff sign-in
and booking page, and the venue managers' approval queue. They call the same services as the JSON API.

Forms post back to the page (POST, then a redirect on success), so the pages work without any script.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import BaseModel, ValidationError
from sqlalchemy import select

from api.auth import service as auth_service
from api.deps import Principal, PublicRoute, SessionDep, SettingsDep
from api.exceptions import NotAuthenticatedError
from api.venues import service
from api.venues.dependencies import RateLimit
from api.venues.page_session import (
    SESSION_COOKIE,
    SIGN_IN_PATH,
    CheckedForm,
    csrf_for,
    page_roles,
    safe_next,
)
from api.venues.schemas import ApplicationCreate, BookingCreate
from cityhall.db import utcnow
from cityhall.errors import DomainError, InvalidInputError
from cityhall.models import ACTIVE_BOOKING_STATUSES, Booking, BookingStatus, ResourceKind, VenueResource
from cityhall.venues import booking as booking_service
from cityhall.venues.rules import TAIPEI, WEEKDAYS, holiday_name, opening_window

HERE = Path(__file__).parent
TEMPLATE_DIRS = [HERE / "templates", HERE.parent / "dorms" / "templates"]
environment = Environment(
    loader=FileSystemLoader([str(d) for d in TEMPLATE_DIRS]),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
environment.filters["taipei"] = lambda at, fmt="%Y-%m-%d %H:%M": at.astimezone(TAIPEI).strftime(fmt)

router = APIRouter(include_in_schema=False)

StaffPage = Annotated[Principal, Depends(page_roles(*service.STAFF))]
ManagerPage = Annotated[Principal, Depends(page_roles(*service.MANAGERS))]
SLOT = timedelta(hours=1)
FIELD_LABELS = {
    "title": "Purpose",
    "starts_at": "Start",
    "ends_at": "End",
    "attendees": "People",
    "name": "Name",
    "email": "E-mail",
    "phone": "Phone",
    "organisation": "Organisation",
    "resource_id": "Venue",
    "note": "Reason",
    "department": "Department",
}


def render(
    request: Request, template: str, context: dict[str, Any], *, status_code: int = 200
) -> HTMLResponse:
    """A page from its template; `request` and the current path are always in the context."""
    page = environment.get_template(template).render(request=request, path=request.url.path, **context)
    return HTMLResponse(page, status_code=status_code)


@dataclass(slots=True)
class FormProblem:
    """An error to show above a form, naming the field to fix."""

    field: str
    message: str

    @property
    def label(self) -> str:
        """The field's label as people see it."""
        return FIELD_LABELS.get(self.field, self.field.replace("_", " "))


def problems_of(err: DomainError | ValidationError) -> list[FormProblem]:
    """Form problems from a domain refusal or a schema validation error."""
    if isinstance(err, ValidationError):
        return [FormProblem(str(e["loc"][-1]) if e["loc"] else "", e["msg"]) for e in err.errors()]
    return [FormProblem(str(err.loc[-1]) if err.loc else "", err.message)]


def local_datetime(day: str, hhmm: str, *, field_name: str) -> datetime:
    """An aware Taipei datetime from a date field and a time field."""
    try:
        return datetime.combine(date.fromisoformat(day), time.fromisoformat(hhmm), TAIPEI)
    except ValueError as err:
        raise InvalidInputError(
            "invalid_datetime", "give a date and a time", loc=("body", field_name)
        ) from err


# --- the public week calendar ---


@dataclass(slots=True)
class Slot:
    """One hour of a venue's day and its state: free, requested, booked, setup, closed or past."""

    starts_at: datetime
    ends_at: datetime
    state: str

    @property
    def label(self) -> str:
        """What the slot shows."""
        return {
            "free": "Free",
            "requested": "Requested",
            "booked": "Booked",
            "setup": "Set-up / cleaning",
            "closed": "Closed",
            "past": "Past",
        }[self.state]


@dataclass(slots=True)
class DayColumn:
    """One day of the week view."""

    day: date
    closed_reason: str | None = None
    slots: list[Slot] = field(default_factory=list)


def _state(
    start: datetime,
    end: datetime,
    bookings: list[Booking],
    closures: list[tuple[datetime, datetime]],
    now: datetime,
) -> str:
    if any(s < end and start < e for s, e in closures):
        return "closed"
    for b in bookings:
        if b.starts_at < end and start < b.ends_at:
            return "requested" if b.status is BookingStatus.PENDING else "booked"
    if any(b.ends_at < end and start < b.block_until for b in bookings):
        return "setup"
    return "past" if start < now else "free"


def week_view(
    session: SessionDep, resource: VenueResource, monday: date, *, now: datetime
) -> list[DayColumn]:
    """Seven days from `monday`, one-hour slots within the opening hours, each with its state."""
    start = datetime.combine(monday, time(0), TAIPEI).astimezone(UTC)
    end = start + timedelta(days=7)
    bookings = list(session.scalars(booking_service.active_overlapping(resource.id, start, end)))
    closures = [
        (b.starts_at, b.ends_at)
        for b in booking_service.blackouts_between(
            session, resource_id=resource.id, starts_at=start, ends_at=end
        )
    ]
    days = []
    for offset in range(7):
        day = monday + timedelta(days=offset)
        column = DayColumn(day=day)
        window = opening_window(resource.opening_hours, day)
        holiday = holiday_name(day) if resource.closed_on_holidays else None
        if window is None or holiday is not None:
            column.closed_reason = holiday or "Closed"
        else:
            at = window[0]
            while at + SLOT <= window[1]:
                column.slots.append(Slot(at, at + SLOT, _state(at, at + SLOT, bookings, closures, now)))
                at += SLOT
        days.append(column)
    return days


def monday_of(day: date) -> date:
    """The Monday of the week containing `day`."""
    return day - timedelta(days=day.weekday())


@router.get("/calendar", response_class=HTMLResponse, dependencies=[PublicRoute])
def calendar_index(request: Request, session: SessionDep) -> HTMLResponse:
    """The venues citizens may apply for, each linking to its week calendar."""
    return render(request, "venues_list.html", {"resources": service.public_resources(session)})


@router.get("/calendar/{resource_id}", response_class=HTMLResponse, dependencies=[PublicRoute])
def calendar_week(
    *, request: Request, resource_id: int, session: SessionDep, week: date | None = None
) -> HTMLResponse:
    """A public venue's week: free, requested, booked and closed hours, without anyone's name."""
    resource = booking_service.get_resource(session, resource_id, citizen=True)
    now = utcnow()
    monday = monday_of(week or now.astimezone(TAIPEI).date())
    context = {
        "resource": resource,
        "days": week_view(session, resource, monday, now=now),
        "monday": monday,
        "previous_week": monday - timedelta(days=7),
        "next_week": monday + timedelta(days=7),
        "weekdays": WEEKDAYS,
    }
    return render(request, "venue_week.html", context)


# --- the citizen's application ---


def _application_limit(request: Request) -> None:
    """The same per-address limit as the JSON route (10 per 10 minutes), shared through the app state."""
    state = request.app.state
    if not hasattr(state, "venue_application_limit"):
        state.venue_application_limit = RateLimit(limit=10, window_s=600)
    limit: RateLimit = state.venue_application_limit
    limit(request)


class ApplicationFields(BaseModel):
    """The application form's fields, as typed (so a refused form comes back filled in)."""

    title: str = ""
    date: str = ""
    start: str = ""
    end: str = ""
    attendees: str = "1"
    name: str = ""
    email: str = ""
    phone: str = ""
    organisation: str = ""
    note: str = ""
    applicant_key: str = ""


@router.get("/calendar/{resource_id}/apply", response_class=HTMLResponse, dependencies=[PublicRoute])
def application_form(
    *,
    request: Request,
    resource_id: int,
    session: SessionDep,
    day: Annotated[str, Query(alias="date")] = "",
    start: str = "",
    end: str = "",
) -> HTMLResponse:
    """The application form for a public venue, prefilled from the slot chosen in the calendar."""
    resource = booking_service.get_resource(session, resource_id, citizen=True)
    values = ApplicationFields(date=day, start=start, end=end)
    return render(request, "apply.html", {"resource": resource, "values": values, "problems": []})


@router.post(
    "/calendar/{resource_id}/apply",
    response_class=HTMLResponse,
    dependencies=[PublicRoute, Depends(_application_limit)],
)
def apply_from_form(
    *,
    request: Request,
    resource_id: int,
    session: SessionDep,
    values: Annotated[ApplicationFields, Form()],
) -> HTMLResponse:
    """Send an application; a first-time applicant's private key and calendar link are shown once."""
    resource = booking_service.get_resource(session, resource_id, citizen=True)
    try:
        data = ApplicationCreate(
            resource_id=resource.id,
            title=values.title,
            starts_at=local_datetime(values.date, values.start, field_name="starts_at"),
            ends_at=local_datetime(values.date, values.end, field_name="ends_at"),
            attendees=int(values.attendees) if values.attendees.isdigit() else 0,
            note=values.note,
            name=values.name,
            email=values.email,
            phone=values.phone,
            organisation=values.organisation,
        )
        applicant = (
            booking_service.applicant_by_key(session, values.applicant_key.strip())
            if values.applicant_key.strip()
            else None
        )
        if values.applicant_key.strip() and applicant is None:
            raise InvalidInputError(
                "invalid_applicant_key",
                "this key is not known; leave it empty",
                loc=("body", "applicant_key"),
            )
        new = None
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
    except (DomainError, ValidationError) as err:
        session.rollback()
        code = err.status_code if isinstance(err, DomainError) else status.HTTP_422_UNPROCESSABLE_CONTENT
        context = {"resource": resource, "values": values, "problems": problems_of(err)}
        return render(request, "apply.html", context, status_code=code)
    session.commit()  # in this worker thread, like the JSON route (see router._commit_here)
    context = {
        "resource": resource,
        "booking": booking,
        "applicant_key": new.key if new else None,
        "feed_url": str(request.url_for("personal_feed", key=new.feed_key)) if new else None,
    }
    return render(request, "applied.html", context, status_code=status.HTTP_201_CREATED)


# --- staff sign-in ---


@router.get("/sign-in", response_class=HTMLResponse, dependencies=[PublicRoute])
def sign_in_form(request: Request, next: str = "") -> HTMLResponse:
    """The sign-in form of the staff pages."""
    return render(request, "sign_in.html", {"next": safe_next(next), "error": None})


@router.post("/sign-in", response_model=None, dependencies=[PublicRoute])
def sign_in(
    *,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    next: Annotated[str, Form()] = "",
) -> Response:
    """Check the password and keep the token in an HttpOnly, SameSite=Strict cookie."""
    target = safe_next(next)
    try:
        token = auth_service.issue_token(
            session=session, settings=settings, username=username, password=password
        )
    except NotAuthenticatedError:
        context = {"next": target, "error": "Wrong user name or password.", "username": username}
        return render(request, "sign_in.html", context, status_code=status.HTTP_401_UNAUTHORIZED)
    response = RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER)
    response.set_cookie(
        SESSION_COOKIE,
        token.access_token,
        max_age=token.expires_in,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


@router.post("/sign-out", response_model=None, dependencies=[PublicRoute])
def sign_out() -> Response:
    """Forget the page session."""
    response = RedirectResponse(SIGN_IN_PATH, status_code=status.HTTP_303_SEE_OTHER)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# --- staff booking ---


class BookingFields(BaseModel):
    """The staff booking form's fields, as typed."""

    resource_id: str = ""
    title: str = ""
    date: str = ""
    start: str = ""
    end: str = ""
    attendees: str = "1"
    department: str = ""


def _bookable(session: SessionDep) -> list[VenueResource]:
    return list(
        session.scalars(
            select(VenueResource)
            .where(VenueResource.is_active.is_(True), VenueResource.kind != ResourceKind.DORM_ROOM)
            .order_by(VenueResource.code)
        )
    )


def _booking_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    who: Principal,
    values: BookingFields,
    *,
    problems: list[FormProblem],
    done: Booking | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    mine = session.scalars(
        service.bookings_query(
            principal=who,
            resource_id=None,
            statuses=ACTIVE_BOOKING_STATUSES,
            starts_after=utcnow(),
            starts_before=None,
        ).where(Booking.user_id == who.user_id)
    ).all()
    context = {
        "who": who,
        "resources": _bookable(session),
        "values": values,
        "problems": problems,
        "mine": mine,
        "done": done,
        "csrf": csrf_for(request, settings),
    }
    return render(request, "book.html", context, status_code=status_code)


@router.get("/book", response_class=HTMLResponse)
def booking_page(
    *,
    request: Request,
    who: StaffPage,
    session: SessionDep,
    settings: SettingsDep,
    done: int | None = None,
    resource: int | None = None,
) -> HTMLResponse:
    """Book a hall or meeting room, and see your coming bookings."""
    booked = session.get(Booking, done) if done is not None else None
    if booked is not None and booked.user_id != who.user_id:
        booked = None
    values = BookingFields(resource_id=str(resource or ""))
    return _booking_page(request, session, settings, who, values, problems=[], done=booked)


@router.post("/book", response_model=None, dependencies=[CheckedForm])
def book_from_form(
    *,
    request: Request,
    who: StaffPage,
    session: SessionDep,
    settings: SettingsDep,
    values: Annotated[BookingFields, Form()],
) -> Response:
    """Book the slot; back to the page with the booking, or with what to fix."""
    try:
        data = BookingCreate(
            resource_id=int(values.resource_id) if values.resource_id.isdigit() else 0,
            title=values.title,
            starts_at=local_datetime(values.date, values.start, field_name="starts_at"),
            ends_at=local_datetime(values.date, values.end, field_name="ends_at"),
            attendees=int(values.attendees) if values.attendees.isdigit() else 0,
            department=values.department,
        )
        resource = booking_service.get_resource(session, data.resource_id)
        booking = booking_service.create_booking(
            session,
            resource=resource,
            booker=service.staff_booker(who, data.department),
            request=booking_service.SlotRequest(data.title, data.starts_at, data.ends_at, data.attendees),
        )
    except (DomainError, ValidationError) as err:
        session.rollback()
        code = err.status_code if isinstance(err, DomainError) else status.HTTP_422_UNPROCESSABLE_CONTENT
        return _booking_page(
            request, session, settings, who, values, problems=problems_of(err), status_code=code
        )
    session.commit()  # in this worker thread (see router._commit_here)
    return RedirectResponse(f"/venues/book?done={booking.id}", status_code=status.HTTP_303_SEE_OTHER)


# --- the approval queue ---


@router.get("/queue", response_class=HTMLResponse)
def approval_queue_page(
    *,
    request: Request,
    who: ManagerPage,
    session: SessionDep,
    settings: SettingsDep,
    decided: int | None = None,
) -> HTMLResponse:
    """Applications awaiting a decision, oldest first, with the applicant's contact details."""
    pending = session.scalars(
        select(Booking)
        .where(Booking.status == BookingStatus.PENDING)
        .order_by(Booking.created_at, Booking.id)
    ).all()
    context = {
        "who": who,
        "pending": pending,
        "now": utcnow(),
        "decided": session.get(Booking, decided) if decided is not None else None,
        "csrf": csrf_for(request, settings),
        "problems": [],
    }
    return render(request, "queue.html", context)


@router.post("/queue/{booking_id}", response_model=None, dependencies=[CheckedForm])
def decide_from_form(
    *,
    request: Request,
    booking_id: int,
    who: ManagerPage,
    session: SessionDep,
    settings: SettingsDep,
    decision: Annotated[str, Form()],
    note: Annotated[str, Form()] = "",
) -> Response:
    """Approve or reject (with a reason) an application, or all pending dates of its series."""
    try:
        booking = booking_service.get_booking(session, booking_id)
        booking_service.decide(
            session,
            booking=booking,
            approve=decision == "approve",
            note=note.strip() or None,
            actor=who.actor,
        )
    except DomainError as err:
        session.rollback()
        pending = session.scalars(
            select(Booking)
            .where(Booking.status == BookingStatus.PENDING)
            .order_by(Booking.created_at, Booking.id)
        ).all()
        context = {
            "who": who,
            "pending": pending,
            "now": utcnow(),
            "decided": None,
            "csrf": csrf_for(request, settings),
            "problems": problems_of(err),
            "failed_id": booking_id,
        }
        return render(request, "queue.html", context, status_code=err.status_code)
    return RedirectResponse(f"/venues/queue?decided={booking_id}", status_code=status.HTTP_303_SEE_OTHER)
