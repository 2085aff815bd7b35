"""Venue and dormitory reports per Taipei calendar month, and their CSV and XLSX exports.

- utilisation: hours booked (confirmed or checked in; no-shows and pending applications do not count) out of
  the hours open (opening hours, less Taiwan public holidays for resources closed on them; blackouts are
  not subtracted: a closure for works is still capacity the venue was meant to offer);
- approval times: from application to decision, per month of the decision;
- survey scores: per month of the booking's start;
- dorm occupancy: bed-nights taken out of beds x nights.
"""

from __future__ import annotations

import csv
import io
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import astuple, dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityhall.errors import InvalidInputError
from cityhall.models import (
    Booking,
    BookingStatus,
    DormAssignment,
    ResourceKind,
    SurveyResponse,
    VenueResource,
)
from cityhall.venues.dorms import bed_nights
from cityhall.venues.rules import TAIPEI, holiday_name, opening_window

USED_STATUSES = (BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN)
MAX_MONTHS = 36


def parse_month(text: str, *, loc: tuple[str | int, ...]) -> date:
    """The first day of a month given as YYYY-MM; 422 naming the field otherwise."""
    try:
        return datetime.strptime(text, "%Y-%m").replace(tzinfo=TAIPEI).date()
    except ValueError as err:
        raise InvalidInputError("invalid_month", f"{text!r} is not a month like 2026-12", loc=loc) from err


def next_month(first: date) -> date:
    """The first day of the following month."""
    return (first + timedelta(days=32)).replace(day=1)


def months_between(first: date, last: date) -> list[date]:
    """The first days of the months from `first` to `last`, both included (at most MAX_MONTHS)."""
    if last < first:
        raise InvalidInputError("ends_before_start", "`end` is before `start`", loc=("query", "end"))
    out = [first.replace(day=1)]
    while next_month(out[-1]) <= last:
        out.append(next_month(out[-1]))
        if len(out) > MAX_MONTHS:
            raise InvalidInputError(
                "range_too_long", f"ask for at most {MAX_MONTHS} months", loc=("query", "end")
            )
    return out


def month_bounds(first: date) -> tuple[datetime, datetime]:
    """A Taipei calendar month as UTC [start, end)."""
    return (
        datetime.combine(first, time(0), TAIPEI).astimezone(UTC),
        datetime.combine(next_month(first), time(0), TAIPEI).astimezone(UTC),
    )


def month_key(at: datetime) -> str:
    """YYYY-MM of an instant in Taipei."""
    return at.astimezone(TAIPEI).strftime("%Y-%m")


def _hours(delta: timedelta) -> float:
    return delta.total_seconds() / 3600


def open_hours(resource: VenueResource, first: date) -> float:
    """Hours a resource is open in a month: its opening hours, without holidays when it closes on them."""
    total = 0.0
    day = first
    while day < next_month(first):
        window = opening_window(resource.opening_hours, day)
        if window is not None and not (resource.closed_on_holidays and holiday_name(day) is not None):
            total += _hours(window[1] - window[0])
        day += timedelta(days=1)
    return total


@dataclass(frozen=True, slots=True)
class UtilisationRow:
    """One venue in one month: hours booked out of hours open."""

    resource_code: str
    resource_name: str
    month: str
    open_hours: float
    booked_hours: float
    utilisation_pct: float


@dataclass(frozen=True, slots=True)
class ApprovalTimeRow:
    """Applications decided for one venue in one month and how long they waited, in hours."""

    resource_code: str
    resource_name: str
    month: str
    decided: int
    approved: int
    rejected: int
    mean_hours: float
    median_hours: float
    max_hours: float


@dataclass(frozen=True, slots=True)
class SurveyRow:
    """Satisfaction answers for one venue's bookings that started in one month."""

    resource_code: str
    resource_name: str
    month: str
    responses: int
    mean_score: float
    lowest: int
    highest: int


@dataclass(frozen=True, slots=True)
class OccupancyRow:
    """One dormitory room in one month: bed-nights taken out of beds x nights."""

    room_code: str
    room_name: str
    month: str
    beds: int
    bed_nights: int
    bed_nights_taken: int
    occupancy_pct: float


def _resources(session: Session, *, dorms: bool) -> Sequence[VenueResource]:
    kind = VenueResource.kind == ResourceKind.DORM_ROOM
    return session.scalars(
        select(VenueResource)
        .where(VenueResource.is_active.is_(True), kind if dorms else ~kind)
        .order_by(VenueResource.code)
    ).all()


def utilisation(session: Session, *, first: date, last: date) -> list[UtilisationRow]:
    """Booked hours / open hours per venue (dormitory rooms excluded) and month."""
    out = []
    for resource in _resources(session, dorms=False):
        for month in months_between(first, last):
            start, end = month_bounds(month)
            rows = session.execute(
                select(Booking.starts_at, Booking.ends_at).where(
                    Booking.resource_id == resource.id,
                    Booking.status.in_(USED_STATUSES),
                    Booking.starts_at < end,
                    Booking.ends_at > start,
                )
            ).all()
            booked = sum(_hours(min(e, end) - max(s, start)) for s, e in rows)
            opened = open_hours(resource, month)
            out.append(
                UtilisationRow(
                    resource_code=resource.code,
                    resource_name=resource.name,
                    month=month.strftime("%Y-%m"),
                    open_hours=round(opened, 2),
                    booked_hours=round(booked, 2),
                    utilisation_pct=round(100 * booked / opened, 1) if opened else 0.0,
                )
            )
    return out


def approval_times(session: Session, *, first: date, last: date) -> list[ApprovalTimeRow]:
    """Per venue and month of decision: decisions, approvals, rejections and hours from application."""
    start, _ = month_bounds(first)
    _, end = month_bounds(months_between(first, last)[-1])
    rows = session.execute(
        select(Booking, VenueResource)
        .join(VenueResource, VenueResource.id == Booking.resource_id)
        .where(Booking.decided_at.is_not(None), Booking.decided_at >= start, Booking.decided_at < end)
        .order_by(VenueResource.code, Booking.decided_at)
    ).all()
    groups: dict[tuple[str, str, str], list[Booking]] = defaultdict(list)
    for booking, resource in rows:
        assert booking.decided_at is not None  # noqa: S101 - selected by decided_at IS NOT NULL
        groups[(resource.code, resource.name, month_key(booking.decided_at))].append(booking)
    out = []
    for (code, name, month), bookings in sorted(groups.items()):
        waits = [_hours(b.decided_at - b.created_at) for b in bookings if b.decided_at is not None]
        out.append(
            ApprovalTimeRow(
                resource_code=code,
                resource_name=name,
                month=month,
                decided=len(bookings),
                approved=sum(b.status is not BookingStatus.REJECTED for b in bookings),
                rejected=sum(b.status is BookingStatus.REJECTED for b in bookings),
                mean_hours=round(statistics.fmean(waits), 2),
                median_hours=round(statistics.median(waits), 2),
                max_hours=round(max(waits), 2),
            )
        )
    return out


def survey_scores(session: Session, *, first: date, last: date) -> list[SurveyRow]:
    """Per venue and month of the booking's start: answers, mean, lowest and highest score (1-5)."""
    start, _ = month_bounds(first)
    _, end = month_bounds(months_between(first, last)[-1])
    rows = session.execute(
        select(VenueResource.code, VenueResource.name, Booking.starts_at, SurveyResponse.score)
        .join(Booking, Booking.id == SurveyResponse.booking_id)
        .join(VenueResource, VenueResource.id == Booking.resource_id)
        .where(Booking.starts_at >= start, Booking.starts_at < end)
    ).all()
    groups: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    for code, name, starts_at, score in rows:
        groups[(code, name, month_key(starts_at))].append(score)
    return [
        SurveyRow(
            resource_code=code,
            resource_name=name,
            month=month,
            responses=len(scores),
            mean_score=round(statistics.fmean(scores), 2),
            lowest=min(scores),
            highest=max(scores),
        )
        for (code, name, month), scores in sorted(groups.items())
    ]


def dorm_occupancy(session: Session, *, first: date, last: date) -> list[OccupancyRow]:
    """Per dormitory room and month: bed-nights taken / (beds x nights in the month)."""
    out = []
    for room in _resources(session, dorms=True):
        assignments = session.scalars(
            select(DormAssignment).where(DormAssignment.resource_id == room.id)
        ).all()
        for month in months_between(first, last):
            after = next_month(month)
            available = room.capacity_people * (after - month).days
            taken = bed_nights(assignments, month, after)
            out.append(
                OccupancyRow(
                    room_code=room.code,
                    room_name=room.name,
                    month=month.strftime("%Y-%m"),
                    beds=room.capacity_people,
                    bed_nights=available,
                    bed_nights_taken=taken,
                    occupancy_pct=round(100 * taken / available, 1) if available else 0.0,
                )
            )
    return out


# --- export ---


def headers(row_type: type[Any]) -> list[str]:
    """The column names of a report row type."""
    return [f.name for f in fields(row_type)]


def to_csv(row_type: type[Any], rows: Sequence[Any]) -> str:
    """A report as CSV (UTF-8 text, a header row first)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(headers(row_type))
    writer.writerows(astuple(r) for r in rows)
    return buffer.getvalue()


def to_xlsx(title: str, row_type: type[Any], rows: Sequence[Any]) -> bytes:
    """A report as an Excel workbook: one sheet, a bold header row, numbers as numbers."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None  # noqa: S101 - a new workbook always has a sheet
    sheet.title = title[:31]  # Excel's limit on sheet names
    sheet.append(headers(row_type))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(list(astuple(row)))
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
