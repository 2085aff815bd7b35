"""Glue between the conservation routes and cityhall.conservation: API views of the rows."""

from __future__ import annotations

from datetime import date, datetime

from api.conservation.schemas import (
    ActionRead,
    AreaProgressRead,
    EntryRead,
    MeetingRead,
    ProgrammeRead,
    ProgressRead,
)
from cityhall.conservation.committee import is_overdue
from cityhall.conservation.progress import AT_RISK_MARGIN, AreaProgress
from cityhall.conservation.targets import today
from cityhall.energy.periods import TAIPEI
from cityhall.errors import InvalidInputError
from cityhall.models import CommitteeAction, CommitteeMeeting, ConservationProgramme, ConsumptionEntry


def month_of(text: str) -> date:
    """'2026-03' -> 2026-03-01 (the schema has checked the shape)."""
    year, month = text.split("-")
    return date(int(year), int(month), 1)


def entry_read(entry: ConsumptionEntry, outcome: str | None = None) -> EntryRead:
    """An entry as the API shows it (month as YYYY-MM)."""
    return EntryRead(
        id=entry.id,
        department_code=entry.department_code,
        area=entry.area,
        month=entry.month.strftime("%Y-%m"),
        amount=entry.amount,
        unit=entry.unit,
        entered_amount=entry.entered_amount,
        entered_unit=entry.entered_unit,
        source=entry.source,
        note=entry.note,
        entered_by=entry.entered_by,
        entered_at=entry.entered_at,
        outcome=outcome,
    )


def action_read(action: CommitteeAction, on: date | None = None) -> ActionRead:
    """An action item with `overdue` as of `on` (default: today, Asia/Taipei)."""
    return ActionRead(
        id=action.id,
        meeting_id=action.meeting_id,
        description=action.description,
        owner_id=action.owner_id,
        owner_name=action.owner_name,
        due_on=action.due_on,
        status=action.status,
        overdue=is_overdue(action, on or today()),
        done_at=action.done_at,
        outcome=action.outcome,
    )


def meeting_read(meeting: CommitteeMeeting) -> MeetingRead:
    """A meeting with its action items; the start in Asia/Taipei."""
    on = today()
    return MeetingRead(
        id=meeting.id,
        title=meeting.title,
        starts_at=meeting.starts_at.astimezone(TAIPEI),
        location=meeting.location,
        attendees=list(meeting.attendees),
        minutes=meeting.minutes,
        status=meeting.status,
        created_by=meeting.created_by,
        actions=[action_read(a, on) for a in meeting.actions],
    )


def programme_read(programme: ConservationProgramme) -> ProgrammeRead:
    """A programme with its measures, area targets and reviews."""
    return ProgrammeRead.model_validate(programme)


def progress_window(year: int | None, through: date | None) -> tuple[int, date]:
    """The year (default: this year) and last day counted (default: today, or 31 December of a past year);
    422 naming the parameter when `through` is outside the year or the year has not begun."""
    now = today()
    the_year = year if year is not None else (through.year if through is not None else now.year)
    if the_year > now.year:
        raise InvalidInputError("year_in_future", f"{the_year} has not begun", loc=("query", "year"))
    if through is None:
        through = now if the_year == now.year else date(the_year, 12, 31)
    if through.year != the_year:
        raise InvalidInputError(
            "through_outside_year", f"through must be a day of {the_year}", loc=("query", "through")
        )
    return the_year, through


def progress_read(year: int, through: date, rows: list[AreaProgress]) -> ProgressRead:
    """The four areas' progress as the API shows it."""
    return ProgressRead(
        year=year,
        through=through,
        at_risk_margin_pct=AT_RISK_MARGIN * 100,
        items=[
            AreaProgressRead(
                department=r.department,
                department_name=r.department_name,
                area=r.area,
                unit=r.unit,
                metered=r.metered,
                entered=r.entered,
                actual=r.actual,
                target=r.target,
                target_to_date=r.target_to_date,
                forecast=r.forecast,
                status=r.status,
            )
            for r in rows
        ],
    )


def year_bounds(year: int) -> tuple[datetime, datetime]:
    """Local midnight of 1 January of `year` and of the next year (Asia/Taipei)."""
    return datetime(year, 1, 1, tzinfo=TAIPEI), datetime(year + 1, 1, 1, tzinfo=TAIPEI)
