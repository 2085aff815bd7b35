"""Crews and preventive-maintenance schedules: managed by facility managers (and admins), read by crew."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status
from sqlalchemy import select

from api.crews import service
from api.crews.schemas import CrewCreate, CrewRead, CrewUpdate, ScheduleCreate, ScheduleRead, ScheduleUpdate
from api.deps import Principal, SessionDep, require_roles
from api.pagination import Page, PageDep, paginate
from cityhall.models import Crew, MaintenanceSchedule, Role

router = APIRouter(prefix="/crews", tags=["crews"])
schedules_router = APIRouter(prefix="/maintenance-schedules", tags=["maintenance schedules"])

Manager = Annotated[Principal, Depends(require_roles(Role.FACILITY_MANAGER))]
Reader = Annotated[
    Principal, Depends(require_roles(Role.FACILITY_MANAGER, Role.MAINTENANCE_CREW, Role.AUDITOR))
]


@router.get("", response_model=Page[CrewRead])
def list_crews(*, _who: Reader, session: SessionDep, page: PageDep) -> Page[CrewRead]:
    """Crews by name."""
    return paginate(session, select(Crew).order_by(Crew.name), page, service.read)


@router.post("", response_model=CrewRead, status_code=status.HTTP_201_CREATED)
def create_crew(who: Manager, data: CrewCreate, session: SessionDep) -> CrewRead:
    """Create a crew; members must be maintenance_crew users (422 naming `member_ids`)."""
    return service.read(service.create(session=session, data=data, actor=who.actor))


@router.get("/{crew_id}", response_model=CrewRead)
def get_crew(_who: Reader, crew_id: int, session: SessionDep) -> CrewRead:
    """One crew."""
    return service.read(service.get(session=session, crew_id=crew_id))


@router.patch("/{crew_id}", response_model=CrewRead)
def update_crew(who: Manager, crew_id: int, data: CrewUpdate, session: SessionDep) -> CrewRead:
    """Change a crew; `is_active=false` retires it (its tickets keep the link)."""
    crew = service.get(session=session, crew_id=crew_id)
    return service.read(service.update(session=session, crew=crew, data=data, actor=who.actor))


@router.delete("/{crew_id}", response_model=CrewRead)
def retire_crew(who: Manager, crew_id: int, session: SessionDep) -> CrewRead:
    """Retire a crew (soft delete: history keeps pointing at it)."""
    crew = service.get(session=session, crew_id=crew_id)
    return service.read(
        service.update(session=session, crew=crew, data=CrewUpdate(is_active=False), actor=who.actor)
    )


@schedules_router.get("", response_model=Page[ScheduleRead])
def list_schedules(*, _who: Reader, session: SessionDep, page: PageDep) -> Page[ScheduleRead]:
    """PM schedules by id."""
    stmt = select(MaintenanceSchedule).order_by(MaintenanceSchedule.id)
    return paginate(session, stmt, page, ScheduleRead.model_validate)


@schedules_router.post("", response_model=ScheduleRead, status_code=status.HTTP_201_CREATED)
def create_schedule(who: Manager, data: ScheduleCreate, session: SessionDep) -> ScheduleRead:
    """Create a PM schedule; 422 naming `rrule` when it is not a valid RFC 5545 RRULE."""
    return ScheduleRead.model_validate(service.create_schedule(session=session, data=data, actor=who.actor))


@schedules_router.get("/{schedule_id}", response_model=ScheduleRead)
def get_schedule(_who: Reader, schedule_id: int, session: SessionDep) -> ScheduleRead:
    """One schedule."""
    return ScheduleRead.model_validate(service.get_schedule(session=session, schedule_id=schedule_id))


@schedules_router.patch("/{schedule_id}", response_model=ScheduleRead)
def update_schedule(
    who: Manager, schedule_id: int, data: ScheduleUpdate, session: SessionDep
) -> ScheduleRead:
    """Change a schedule; `is_active=false` pauses it."""
    schedule = service.get_schedule(session=session, schedule_id=schedule_id)
    updated = service.update_schedule(session=session, schedule=schedule, data=data, actor=who.actor)
    return ScheduleRead.model_validate(updated)


@schedules_router.delete("/{schedule_id}", response_model=ScheduleRead)
def deactivate_schedule(who: Manager, schedule_id: int, session: SessionDep) -> ScheduleRead:
    """Stop a schedule (soft delete: its tickets keep the link)."""
    schedule = service.get_schedule(session=session, schedule_id=schedule_id)
    updated = service.update_schedule(
        session=session, schedule=schedule, data=ScheduleUpdate(is_active=False), actor=who.actor
    )
    return ScheduleRead.model_validate(updated)
