"""Crews and schedules: validation and audited writes."""

from __future__ import annotations

from datetime import UTC

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.crews.schemas import CrewCreate, CrewRead, CrewUpdate, ScheduleCreate, ScheduleUpdate
from cityhall import maintenance
from cityhall.audit import add_created, audited
from cityhall.db import utcnow
from cityhall.errors import ConflictError, InvalidInputError, NotFoundError
from cityhall.models import Building, Crew, Device, MaintenanceSchedule, Space, Trade


def read(crew: Crew) -> CrewRead:
    """The API view of a crew."""
    return CrewRead(
        id=crew.id,
        name=crew.name,
        trades=[Trade(t) for t in crew.trades],
        is_active=crew.is_active,
        member_ids=[m.id for m in crew.members],
        building_ids=[b.id for b in crew.buildings],
    )


def get(*, session: Session, crew_id: int) -> Crew:
    """A crew by id, or 404."""
    crew = session.get(Crew, crew_id)
    if crew is None:
        raise NotFoundError("crew_not_found", f"no crew {crew_id}", loc=("path", "crew_id"))
    return crew


def _buildings(session: Session, ids: list[int]) -> list[Building]:
    out = []
    for bid in ids:
        building = session.get(Building, bid)
        if building is None:
            raise InvalidInputError("unknown_building", f"no building {bid}", loc=("body", "building_ids"))
        out.append(building)
    return out


def _ensure_name_free(session: Session, name: str, crew_id: int | None = None) -> None:
    other = session.scalars(select(Crew).where(Crew.name == name)).one_or_none()
    if other is not None and other.id != crew_id:
        raise ConflictError("crew_exists", f"a crew named {name} exists", loc=("body", "name"))


def create(*, session: Session, data: CrewCreate, actor: str) -> Crew:
    """Create a crew; 422 naming member_ids/building_ids on a bad id, 409 on a taken name."""
    _ensure_name_free(session, data.name)
    crew = Crew(
        name=data.name,
        trades=sorted({t.value for t in data.trades}),
        is_active=True,
        members=maintenance.validate_crew_members(session, user_ids=data.member_ids),
        buildings=_buildings(session, data.building_ids),
    )
    add_created(session, crew, entity="crew", actor=actor)
    return crew


def _members(crew: Crew) -> dict[str, object]:
    return {"member_ids": [m.id for m in crew.members]}


def update(*, session: Session, crew: Crew, data: CrewUpdate, actor: str) -> Crew:
    """Change a crew."""
    with audited(session, crew, entity="crew", action="update", actor=actor, extra=lambda: _members(crew)):
        if data.name is not None:
            _ensure_name_free(session, data.name, crew.id)
            crew.name = data.name
        if data.trades is not None:
            crew.trades = sorted({t.value for t in data.trades})
        if data.member_ids is not None:
            crew.members = maintenance.validate_crew_members(session, user_ids=data.member_ids)
        if data.building_ids is not None:
            crew.buildings = _buildings(session, data.building_ids)
        if data.is_active is not None:
            crew.is_active = data.is_active
        session.flush()
    return crew


def create_schedule(*, session: Session, data: ScheduleCreate, actor: str) -> MaintenanceSchedule:
    """Create a PM schedule; 422 naming `rrule` when it does not parse or never occurs."""
    if data.device_id is not None and session.get(Device, data.device_id) is None:
        raise InvalidInputError("unknown_device", f"no device {data.device_id}", loc=("body", "device_id"))
    if data.space_id is not None and session.get(Space, data.space_id) is None:
        raise InvalidInputError("unknown_space", f"no space {data.space_id}", loc=("body", "space_id"))
    next_due = maintenance.first_due(data.rrule, dtstart=data.dtstart)
    if next_due is None:
        raise InvalidInputError("rrule_never_occurs", "the RRULE has no occurrence", loc=("body", "rrule"))
    schedule = MaintenanceSchedule(
        **data.model_dump(), next_due_at=next_due, is_active=True, created_by=actor
    )
    add_created(session, schedule, entity="maintenance_schedule", actor=actor)
    return schedule


def get_schedule(*, session: Session, schedule_id: int) -> MaintenanceSchedule:
    """A schedule by id, or 404."""
    schedule = session.get(MaintenanceSchedule, schedule_id)
    if schedule is None:
        raise NotFoundError("schedule_not_found", f"no schedule {schedule_id}", loc=("path", "schedule_id"))
    return schedule


def update_schedule(
    *, session: Session, schedule: MaintenanceSchedule, data: ScheduleUpdate, actor: str
) -> MaintenanceSchedule:
    """Change a schedule; a new rrule/dtstart restarts the series from its first occurrence after now."""
    with audited(session, schedule, entity="maintenance_schedule", action="update", actor=actor):
        changes = data.model_dump(exclude_unset=True, exclude_none=True)
        for key, value in changes.items():
            setattr(schedule, key, value)
        if "rrule" in changes or "dtstart" in changes:
            rule = maintenance.parse_rrule(schedule.rrule, dtstart=schedule.dtstart)
            nxt = rule.after(max(schedule.dtstart, utcnow()).astimezone(maintenance.TAIPEI), inc=True)
            schedule.next_due_at = nxt.astimezone(UTC) if nxt is not None else None
        session.flush()
    return schedule
