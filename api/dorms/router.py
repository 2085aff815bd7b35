"""Dormitories: room assignments, occupancy, housekeeping plans and tasks, inspections, repairs as
tickets, and each room's energy and water. Venue managers (facility managers) run them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, status
from sqlalchemy import select

from api.deps import Principal, SessionDep, require_roles
from api.dorms import service
from api.dorms.dependencies import StoreDep, ValidAssignment, ValidRoom, ValidTask
from api.dorms.pages import router as pages_router
from api.dorms.schemas import (
    AssignmentCreate,
    AssignmentEnd,
    AssignmentRead,
    InspectionCreate,
    InspectionRead,
    OccupancyRead,
    PlanCreate,
    PlanRead,
    RepairCreate,
    RepairRead,
    RoomRead,
    RoomUseRead,
    TaskMove,
    TaskRead,
)
from api.venues.reports import End, Format, Start, month_range, report_response
from api.venues.service import check_range
from cityhall.db import utcnow
from cityhall.errors import InvalidInputError
from cityhall.models import (
    CleaningStatus,
    DormAssignment,
    DormRepair,
    HousekeepingTask,
    Inspection,
    Role,
)
from cityhall.venues import dorms, reports
from cityhall.venues.rules import TAIPEI

router = APIRouter(prefix="/dorms", tags=["dormitories"])

Manager = Annotated[Principal, Depends(require_roles(*service.MANAGERS))]
Housekeeper = Annotated[Principal, Depends(require_roles(*service.HOUSEKEEPERS))]
ReportReader = Annotated[Principal, Depends(require_roles(*service.MANAGERS, Role.AUDITOR))]


def _today() -> date:
    return utcnow().astimezone(TAIPEI).date()


# --- rooms and occupancy ---


@router.get("/rooms", response_model=list[RoomRead])
def list_rooms(who: Manager, session: SessionDep, on: date | None = None) -> list[RoomRead]:
    """Every room with its occupants, repair block, cleaning status and last inspection on a day."""
    day = on or _today()
    return [service.room_read(session, room, on=day) for room in dorms.rooms(session)]


@router.get("/rooms/{room_id}", response_model=RoomRead)
def get_room(who: Manager, room: ValidRoom, session: SessionDep, on: date | None = None) -> RoomRead:
    """One room on a day (today by default)."""
    return service.room_read(session, room, on=on or _today())


@router.get("/rooms/{room_id}/use", response_model=RoomUseRead)
def room_use(
    *, who: Manager, room: ValidRoom, session: SessionDep, store: StoreDep, since: datetime, until: datetime
) -> RoomUseRead:
    """The room's electricity (kWh) and water (m3) between `since` and `until`, from its meters."""
    check_range(since, until)
    use = dorms.room_use(session, store, room=room, since=since, until=until)
    return RoomUseRead(
        room_id=room.id, since=since, until=until, energy_kwh=use.energy_kwh, water_m3=use.water_m3
    )


@router.get("/occupancy", response_model=OccupancyRead)
def occupancy(who: ReportReader, session: SessionDep, on: date | None = None) -> OccupancyRead:
    """Beds taken out of beds available over every room, on a day (today by default)."""
    return service.occupancy_read(session, on=on or _today())


@router.get("/reports/occupancy", response_model=list[reports.OccupancyRow])
def occupancy_report(
    who: ReportReader,
    session: SessionDep,
    start: Start,
    end: End,
    format: Format = "json",
) -> Any:
    """Bed-nights taken out of beds x nights, per room and month; JSON, CSV or XLSX."""
    first, last = month_range(start, end)
    rows = reports.dorm_occupancy(session, first=first, last=last)
    return report_response(f"dorm-occupancy-{start}-{end}", reports.OccupancyRow, rows, format)


# --- assignments ---


@router.get("/assignments", response_model=list[AssignmentRead])
def list_assignments(
    who: Manager, session: SessionDep, room_id: int | None = None, on: date | None = None
) -> list[AssignmentRead]:
    """Assignments, newest first; of one room, and/or in force on a day."""
    stmt = select(DormAssignment).order_by(DormAssignment.starts_on.desc(), DormAssignment.id.desc())
    if room_id is not None:
        stmt = stmt.where(DormAssignment.resource_id == room_id)
    if on is not None:
        stmt = stmt.where(
            DormAssignment.starts_on <= on, (DormAssignment.ends_on.is_(None)) | (DormAssignment.ends_on > on)
        )
    return [AssignmentRead.model_validate(a) for a in session.scalars(stmt.limit(500))]


@router.post("/assignments", response_model=AssignmentRead, status_code=status.HTTP_201_CREATED)
def create_assignment(who: Manager, data: AssignmentCreate, session: SessionDep) -> AssignmentRead:
    """Give a staff member a bed; 409 when they hold one then, the room is full or under repair."""
    room = dorms.get_room(session, data.room_id)
    assignment = dorms.assign(
        session,
        room=room,
        user_id=data.user_id,
        starts_on=data.starts_on,
        ends_on=data.ends_on,
        note=data.note,
        actor=who.actor,
    )
    session.commit()  # in this worker thread: the room stays locked until commit (see the venue routes)
    return AssignmentRead.model_validate(assignment)


@router.post("/assignments/{assignment_id}/end", response_model=AssignmentRead)
def end_assignment(
    who: Manager, assignment: ValidAssignment, data: AssignmentEnd, session: SessionDep
) -> AssignmentRead:
    """Move out: the bed is free from `ends_on`."""
    dorms.end_assignment(session, assignment=assignment, ends_on=data.ends_on, actor=who.actor)
    return AssignmentRead.model_validate(assignment)


# --- housekeeping ---


@router.post("/housekeeping/plans", response_model=PlanRead, status_code=status.HTTP_201_CREATED)
def create_plan(who: Manager, data: PlanCreate, session: SessionDep) -> PlanRead:
    """Plan recurring cleaning; the housekeeping pass opens a dirty task per room at each occurrence."""
    room = dorms.get_room(session, data.room_id) if data.room_id is not None else None
    plan = dorms.create_plan(
        session, title=data.title, room=room, rrule=data.rrule, dtstart=data.dtstart, actor=who.actor
    )
    return PlanRead.model_validate(plan)


@router.get("/housekeeping/tasks", response_model=list[TaskRead])
def list_tasks(
    who: Housekeeper,
    session: SessionDep,
    room_id: int | None = None,
    status_: Annotated[list[CleaningStatus] | None, Query(alias="status")] = None,
) -> list[TaskRead]:
    """Cleaning tasks, latest first; of one room and/or in some statuses."""
    stmt = select(HousekeepingTask).order_by(
        HousekeepingTask.scheduled_for.desc(), HousekeepingTask.id.desc()
    )
    if room_id is not None:
        stmt = stmt.where(HousekeepingTask.resource_id == room_id)
    if status_:
        stmt = stmt.where(HousekeepingTask.status.in_(status_))
    return [TaskRead.model_validate(t) for t in session.scalars(stmt.limit(500))]


@router.post("/housekeeping/tasks/{task_id}/status", response_model=TaskRead)
def move_task(who: Housekeeper, task: ValidTask, data: TaskMove, session: SessionDep) -> TaskRead:
    """Move a cleaning task along dirty -> cleaning -> clean; 409 naming the allowed moves."""
    if data.status is CleaningStatus.INSPECTED:
        raise InvalidInputError(
            "inspect_instead", "a room is inspected through POST /dorms/inspections", loc=("body", "status")
        )
    dorms.move_task(session, task=task, to=data.status, actor=who.actor)
    return TaskRead.model_validate(task)


# --- inspections ---


@router.post("/inspections", response_model=InspectionRead, status_code=status.HTTP_201_CREATED)
def create_inspection(who: Manager, data: InspectionCreate, session: SessionDep) -> InspectionRead:
    """Inspect a room against a checklist; with a clean task, a pass marks it inspected, a failure dirty."""
    room = dorms.get_room(session, data.room_id)
    task = None
    if data.task_id is not None:
        task = session.get(HousekeepingTask, data.task_id)
        if task is None:
            raise InvalidInputError(
                "task_not_found", f"no cleaning task {data.task_id}", loc=("body", "task_id")
            )
    inspection = dorms.inspect_room(
        session, room=room, inspector=who.actor, items=[i.model_dump() for i in data.items], task=task
    )
    return InspectionRead.model_validate(inspection)


@router.get("/inspections", response_model=list[InspectionRead])
def list_inspections(who: Manager, session: SessionDep, room_id: int | None = None) -> list[InspectionRead]:
    """Inspections, newest first; of one room."""
    stmt = select(Inspection).order_by(Inspection.inspected_at.desc(), Inspection.id.desc())
    if room_id is not None:
        stmt = stmt.where(Inspection.resource_id == room_id)
    return [InspectionRead.model_validate(i) for i in session.scalars(stmt.limit(500))]


# --- repairs ---


@router.post("/repairs", response_model=RepairRead, status_code=status.HTTP_201_CREATED)
def report_repair(who: Manager, data: RepairCreate, session: SessionDep) -> RepairRead:
    """Open a maintenance ticket for a room; the room takes no one new and no booking until it is done."""
    room = dorms.get_room(session, data.room_id)
    repair = dorms.report_repair(
        session,
        room=room,
        title=data.title,
        description=data.description,
        priority=data.priority,
        trade=data.trade,
        actor=who.actor,
    )
    return service.repair_read(repair)


@router.get("/repairs", response_model=list[RepairRead])
def list_repairs(who: Manager, session: SessionDep, room_id: int | None = None) -> list[RepairRead]:
    """Repairs, newest first; of one room."""
    stmt = select(DormRepair).order_by(DormRepair.id.desc())
    if room_id is not None:
        stmt = stmt.where(DormRepair.resource_id == room_id)
    return [service.repair_read(r) for r in session.scalars(stmt.limit(500))]


# The dormitory board (a server-rendered page).
router.include_router(pages_router)
