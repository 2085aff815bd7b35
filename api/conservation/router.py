"""Conservation routes: the four areas (targets, monthly entries, progress) and the energy-conservation
committee (meetings, minutes, action items, departmental programmes and their reviews).

The committee (and admins) set targets, run meetings, review programmes and assign actions; facility
managers and staff enter monthly figures and draft and submit programmes; auditors read everything.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from sqlalchemy import select

from api.conservation import service
from api.conservation.dependencies import (
    COMMITTEE,
    Committee,
    Entrant,
    Reader,
    RegisterDep,
    StoreDep,
    ValidAction,
    ValidEntry,
    ValidMeeting,
    ValidProgramme,
    ValidTarget,
)
from api.conservation.schemas import (
    ActionDone,
    ActionRead,
    ActionWrite,
    EntriesImportRead,
    EntryRead,
    EntryWrite,
    ImportProblemRead,
    MeetingRead,
    MeetingUpdate,
    MeetingWrite,
    MinutesWrite,
    ProgrammeContent,
    ProgrammeCreate,
    ProgrammeRead,
    ProgressRead,
    ReviewWrite,
    TargetCreate,
    TargetRead,
    TargetUpdate,
)
from api.deps import CSV_REQUEST_BODY, CsvText, SessionDep
from api.exceptions import PermissionDeniedError
from api.pagination import Page, PageDep, paginate
from cityhall.conservation import committee, importer, programmes, targets
from cityhall.conservation.progress import four_areas_progress
from cityhall.models import (
    CommitteeActionStatus,
    CommitteeMeeting,
    ConservationArea,
    ConservationProgramme,
    ConservationTarget,
    ConsumptionEntry,
    MeetingStatus,
    ProgrammeStatus,
    Role,
)

router = APIRouter(prefix="/conservation", tags=["conservation"])

YearQ = Annotated[int | None, Query(ge=2000, le=2100, description="Calendar year")]
DepartmentQ = Annotated[str | None, Query(max_length=32, description="Department code")]
AreaQ = Annotated[ConservationArea | None, Query(description="electricity, water, fuel or paper")]


# --- progress ---


@router.get("/progress", response_model=ProgressRead)
def progress(
    *,
    who: Reader,
    session: SessionDep,
    register: RegisterDep,
    store: StoreDep,
    year: YearQ = None,
    through: Annotated[
        date | None, Query(description="Last day counted (default: today, Asia/Taipei)")
    ] = None,
    department: DepartmentQ = None,
) -> ProgressRead:
    """Every department's year-to-date consumption in the four areas against its targets."""
    the_year, last = service.progress_window(year, through)
    rows = four_areas_progress(session, store, register, year=the_year, through=last)
    if department is not None:
        rows = [r for r in rows if r.department == department]
    return service.progress_read(the_year, last, rows)


# --- targets ---


@router.get("/targets", response_model=Page[TargetRead])
def list_targets(
    *,
    who: Reader,
    session: SessionDep,
    page: PageDep,
    year: YearQ = None,
    department: DepartmentQ = None,
    area: AreaQ = None,
) -> Page[TargetRead]:
    """Targets by year, department and area."""
    stmt = select(ConservationTarget).order_by(
        ConservationTarget.year.desc(), ConservationTarget.department_code, ConservationTarget.area
    )
    if year is not None:
        stmt = stmt.where(ConservationTarget.year == year)
    if department is not None:
        stmt = stmt.where(ConservationTarget.department_code == department)
    if area is not None:
        stmt = stmt.where(ConservationTarget.area == area)
    return paginate(session, stmt, page, TargetRead.model_validate)


@router.post("/targets", response_model=TargetRead, status_code=status.HTTP_201_CREATED)
def create_target(
    who: Committee, data: TargetCreate, session: SessionDep, register: RegisterDep
) -> TargetRead:
    """Set a department's full-year target for an area (409 when it has one: update it)."""
    row = targets.create_target(
        session,
        register=register,
        department_code=data.department_code,
        year=data.year,
        area=data.area,
        values=_target_values(data),
        actor=who.actor,
    )
    return TargetRead.model_validate(row)


@router.get("/targets/{target_id}", response_model=TargetRead)
def get_target(who: Reader, row: ValidTarget) -> TargetRead:
    """One target."""
    return TargetRead.model_validate(row)


@router.put("/targets/{target_id}", response_model=TargetRead)
def update_target(who: Committee, row: ValidTarget, data: TargetUpdate, session: SessionDep) -> TargetRead:
    """Replace a target's amounts, baseline and note."""
    return TargetRead.model_validate(
        targets.update_target(session, row=row, values=_target_values(data), actor=who.actor)
    )


@router.delete("/targets/{target_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_target(who: Committee, row: ValidTarget, session: SessionDep) -> Response:
    """Remove a target."""
    targets.delete_target(session, row=row, actor=who.actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _target_values(data: TargetUpdate | TargetCreate) -> targets.TargetValues:
    return targets.TargetValues(
        target_amount=data.target_amount,
        unit=data.unit,
        baseline_amount=data.baseline_amount,
        baseline_year=data.baseline_year,
        note=data.note,
    )


# --- monthly entries ---


@router.get("/entries", response_model=Page[EntryRead])
def list_entries(
    *,
    who: Reader,
    session: SessionDep,
    page: PageDep,
    year: YearQ = None,
    month: Annotated[str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")] = None,
    department: DepartmentQ = None,
    area: AreaQ = None,
) -> Page[EntryRead]:
    """Monthly entries, newest month first."""
    stmt = select(ConsumptionEntry).order_by(
        ConsumptionEntry.month.desc(),
        ConsumptionEntry.department_code,
        ConsumptionEntry.area,
        ConsumptionEntry.source,
    )
    if year is not None:
        stmt = stmt.where(
            ConsumptionEntry.month >= date(year, 1, 1), ConsumptionEntry.month <= date(year, 12, 1)
        )
    if month is not None:
        stmt = stmt.where(ConsumptionEntry.month == service.month_of(month))
    if department is not None:
        stmt = stmt.where(ConsumptionEntry.department_code == department)
    if area is not None:
        stmt = stmt.where(ConsumptionEntry.area == area)
    return paginate(session, stmt, page, service.entry_read)


def _post(data: EntryWrite, session: SessionDep, register: RegisterDep, actor: str) -> targets.Posted:
    values = targets.EntryValues(
        department_code=data.department_code,
        area=data.area,
        month=service.month_of(data.month),
        amount=data.amount,
        unit=data.unit,
        source=data.source,
        note=data.note,
    )
    return targets.post_entry(session, register=register, values=values, actor=actor)


@router.post(
    "/entries",
    response_model=EntryRead,
    status_code=status.HTTP_201_CREATED,
    responses={200: {"description": "The key existed: the entry was replaced, or was the same already"}},
)
def post_entry(
    who: Entrant, data: EntryWrite, session: SessionDep, register: RegisterDep, response: Response
) -> EntryRead:
    """Enter a month's figure; the same department, area, month and source again replaces it (200)."""
    posted = _post(data, session, register, who.actor)
    if posted.outcome != "created":
        response.status_code = status.HTTP_200_OK
    return service.entry_read(posted.entry, posted.outcome)


@router.post(
    "/entries/import",
    response_model=EntriesImportRead,
    openapi_extra={
        "requestBody": {
            **CSV_REQUEST_BODY,
            "content": {
                "text/csv": {
                    "schema": {"type": "string"},
                    "example": "department,area,month,amount,unit,source,note\n"
                    "SEC,paper,2026-10,95,ream,stationery store,\n",
                }
            },
        }
    },
)
def import_entries(
    who: Entrant, text: CsvText, session: SessionDep, register: RegisterDep
) -> EntriesImportRead:
    """Import monthly entries from CSV (columns `department, area, month, amount, unit, source`, optional
    `note`): valid rows are kept, each other row is reported with its line and column; importing the same
    file again changes nothing."""
    report = importer.import_entries(session, register=register, text=text, actor=who.actor)
    return EntriesImportRead(
        rows=report.rows,
        created=report.created,
        replaced=report.replaced,
        unchanged=report.unchanged,
        problems=[
            ImportProblemRead(line=p.line, column=p.column, message=p.message) for p in report.problems
        ],
    )


@router.put("/entries", response_model=EntryRead)
def put_entry(who: Entrant, data: EntryWrite, session: SessionDep, register: RegisterDep) -> EntryRead:
    """Create or replace the entry for its key (department, area, month, source)."""
    posted = _post(data, session, register, who.actor)
    return service.entry_read(posted.entry, posted.outcome)


@router.get("/entries/{entry_id}", response_model=EntryRead)
def get_entry(who: Reader, row: ValidEntry) -> EntryRead:
    """One entry."""
    return service.entry_read(row)


@router.delete("/entries/{entry_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_entry(who: Entrant, row: ValidEntry, session: SessionDep) -> Response:
    """Remove an entry entered by mistake."""
    targets.delete_entry(session, row=row, actor=who.actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- meetings ---


@router.get("/meetings", response_model=Page[MeetingRead])
def list_meetings(
    who: Reader,
    session: SessionDep,
    page: PageDep,
    meeting_status: Annotated[MeetingStatus | None, Query(alias="status")] = None,
    year: YearQ = None,
) -> Page[MeetingRead]:
    """Meetings, latest first."""
    stmt = select(CommitteeMeeting).order_by(CommitteeMeeting.starts_at.desc(), CommitteeMeeting.id.desc())
    if meeting_status is not None:
        stmt = stmt.where(CommitteeMeeting.status == meeting_status)
    if year is not None:
        start, end = service.year_bounds(year)
        stmt = stmt.where(CommitteeMeeting.starts_at >= start, CommitteeMeeting.starts_at < end)
    return paginate(session, stmt, page, service.meeting_read)


@router.post("/meetings", response_model=MeetingRead, status_code=status.HTTP_201_CREATED)
def create_meeting(who: Committee, data: MeetingWrite, session: SessionDep) -> MeetingRead:
    """Schedule a committee meeting."""
    meeting = committee.create_meeting(session, values=_meeting_values(data), actor=who.actor)
    return service.meeting_read(meeting)


@router.get("/meetings/{meeting_id}", response_model=MeetingRead)
def get_meeting(who: Reader, meeting: ValidMeeting) -> MeetingRead:
    """One meeting with its minutes and action items."""
    return service.meeting_read(meeting)


@router.put("/meetings/{meeting_id}", response_model=MeetingRead)
def update_meeting(
    who: Committee, meeting: ValidMeeting, data: MeetingUpdate, session: SessionDep
) -> MeetingRead:
    """Change a meeting's details, cancel it (`status: cancelled`) or mark it held."""
    updated = committee.update_meeting(
        session, meeting=meeting, values=_meeting_values(data), status=data.status, actor=who.actor
    )
    return service.meeting_read(updated)


@router.put("/meetings/{meeting_id}/minutes", response_model=MeetingRead)
def record_minutes(
    who: Committee, meeting: ValidMeeting, data: MinutesWrite, session: SessionDep
) -> MeetingRead:
    """Record or correct a meeting's minutes (marks it held)."""
    return service.meeting_read(
        committee.record_minutes(session, meeting=meeting, minutes=data.minutes, actor=who.actor)
    )


@router.post("/meetings/{meeting_id}/actions", response_model=ActionRead, status_code=status.HTTP_201_CREATED)
def add_action(who: Committee, meeting: ValidMeeting, data: ActionWrite, session: SessionDep) -> ActionRead:
    """Assign an action item at a meeting."""
    action = committee.add_action(session, meeting=meeting, values=_action_values(data), actor=who.actor)
    return service.action_read(action)


def _meeting_values(data: MeetingWrite) -> committee.MeetingValues:
    return committee.MeetingValues(
        title=data.title, starts_at=data.starts_at, location=data.location, attendees=tuple(data.attendees)
    )


def _action_values(data: ActionWrite) -> committee.ActionValues:
    return committee.ActionValues(
        description=data.description, due_on=data.due_on, owner_id=data.owner_id, owner_name=data.owner_name
    )


# --- action items ---


@router.get("/actions", response_model=Page[ActionRead])
def list_actions(
    *,
    who: Reader,
    session: SessionDep,
    page: PageDep,
    meeting_id: int | None = None,
    action_status: Annotated[CommitteeActionStatus | None, Query(alias="status")] = None,
    owner_id: int | None = None,
    overdue: Annotated[bool, Query(description="Only open items past their due date")] = False,
) -> Page[ActionRead]:
    """Action items by due date; `overdue=true` keeps the open ones past their due date (Asia/Taipei)."""
    on = targets.today()
    stmt = committee.actions_query(
        meeting_id=meeting_id, status=action_status, owner_id=owner_id, overdue_on=on if overdue else None
    )
    return paginate(session, stmt, page, lambda a: service.action_read(a, on))


@router.put("/actions/{action_id}", response_model=ActionRead)
def update_action(who: Committee, action: ValidAction, data: ActionWrite, session: SessionDep) -> ActionRead:
    """Change an open action item's description, owner or due date."""
    updated = committee.update_action(session, action=action, values=_action_values(data), actor=who.actor)
    return service.action_read(updated)


@router.post("/actions/{action_id}/done", response_model=ActionRead)
def mark_done(who: Reader, action: ValidAction, data: ActionDone, session: SessionDep) -> ActionRead:
    """Mark an action item done (the committee, or the user who owns it)."""
    is_committee = who.role is Role.ADMIN or who.role in COMMITTEE
    if not is_committee and (who.user_id is None or action.owner_id != who.user_id):
        raise PermissionDeniedError(
            "forbidden", "only the committee or the action item's owner may mark it done"
        )
    done = committee.complete_action(session, action=action, outcome=data.outcome, actor=who.actor)
    return service.action_read(done)


# --- programmes ---


@router.get("/programmes", response_model=Page[ProgrammeRead])
def list_programmes(
    *,
    who: Reader,
    session: SessionDep,
    page: PageDep,
    year: YearQ = None,
    department: DepartmentQ = None,
    programme_status: Annotated[ProgrammeStatus | None, Query(alias="status")] = None,
) -> Page[ProgrammeRead]:
    """Programmes by year, department and status."""
    stmt = select(ConservationProgramme).order_by(
        ConservationProgramme.year.desc(), ConservationProgramme.department_code, ConservationProgramme.id
    )
    if year is not None:
        stmt = stmt.where(ConservationProgramme.year == year)
    if department is not None:
        stmt = stmt.where(ConservationProgramme.department_code == department)
    if programme_status is not None:
        stmt = stmt.where(ConservationProgramme.status == programme_status)
    return paginate(session, stmt, page, service.programme_read)


@router.post("/programmes", response_model=ProgrammeRead, status_code=status.HTTP_201_CREATED)
def create_programme(
    who: Entrant, data: ProgrammeCreate, session: SessionDep, register: RegisterDep
) -> ProgrammeRead:
    """Draft a department's conservation programme: measures, and a baseline and target per area."""
    programme = programmes.create_programme(
        session,
        register=register,
        department_code=data.department_code,
        year=data.year,
        values=_programme_values(data),
        actor=who.actor,
    )
    return service.programme_read(programme)


@router.get("/programmes/{programme_id}", response_model=ProgrammeRead)
def get_programme(who: Reader, programme: ValidProgramme) -> ProgrammeRead:
    """One programme with its measures, area targets and reviews."""
    return service.programme_read(programme)


@router.put("/programmes/{programme_id}", response_model=ProgrammeRead)
def update_programme(
    who: Entrant, programme: ValidProgramme, data: ProgrammeContent, session: SessionDep
) -> ProgrammeRead:
    """Replace a draft's (or a returned programme's) content (409 once submitted or approved)."""
    updated = programmes.update_programme(
        session, programme=programme, values=_programme_values(data), actor=who.actor
    )
    return service.programme_read(updated)


@router.delete("/programmes/{programme_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_programme(who: Entrant, programme: ValidProgramme, session: SessionDep) -> Response:
    """Delete a draft that was never submitted."""
    programmes.delete_programme(session, programme=programme, actor=who.actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/programmes/{programme_id}/submit", response_model=ProgrammeRead)
def submit_programme(who: Entrant, programme: ValidProgramme, session: SessionDep) -> ProgrammeRead:
    """Submit a draft, or a returned programme again, for the committee's review."""
    return service.programme_read(programmes.submit_programme(session, programme=programme, actor=who.actor))


@router.post(
    "/programmes/{programme_id}/reviews", response_model=ProgrammeRead, status_code=status.HTTP_201_CREATED
)
def review_programme(
    who: Committee, programme: ValidProgramme, data: ReviewWrite, session: SessionDep
) -> ProgrammeRead:
    """Review a submitted programme: score, comments, approve or return (409 unless submitted)."""
    programmes.review_programme(
        session,
        programme=programme,
        values=programmes.ReviewValues(
            score=data.score, decision=data.decision, comments=data.comments, meeting_id=data.meeting_id
        ),
        reviewer_id=who.user_id,
        actor=who.actor,
    )
    return service.programme_read(programme)


def _programme_values(data: ProgrammeContent) -> programmes.ProgrammeValues:
    return programmes.ProgrammeValues(
        title=data.title,
        summary=data.summary,
        measures=tuple(
            programmes.MeasureValues(m.description, m.area, m.expected_saving, m.unit) for m in data.measures
        ),
        area_targets=tuple(
            programmes.AreaTargetValues(t.area, t.baseline_amount, t.baseline_year, t.target_amount, t.unit)
            for t in data.area_targets
        ),
    )
