"""Alarms: read by facility, crew, energy committee and auditors; acknowledged by facility and crew."""

from __future__ import annotations

from fastapi import APIRouter, status
from pydantic import AwareDatetime

from api.alarms import service
from api.alarms.dependencies import Acknowledger, Reader, ValidAlarm
from api.alarms.schemas import AlarmRead, ShelfCreate, ShelfRead, ShelveRequest
from api.deps import SessionDep
from api.pagination import Page, PageDep, paginate
from cityhall import maintenance
from cityhall.models import AlarmState, Severity

router = APIRouter(prefix="/alarms", tags=["alarms"])


@router.get("", response_model=Page[AlarmRead])
def list_alarms(
    *,
    _who: Reader,
    session: SessionDep,
    page: PageDep,
    state: AlarmState | None = None,
    severity: Severity | None = None,
    rule_key: str | None = None,
    device_id: int | None = None,
    building_id: int | None = None,
    raised_after: AwareDatetime | None = None,
    raised_before: AwareDatetime | None = None,
) -> Page[AlarmRead]:
    """Alarms, newest first; `raised_after` is inclusive, `raised_before` exclusive (ISO 8601 with offset)."""
    stmt = service.list_query(
        state=state,
        severity=severity,
        rule_key=rule_key,
        device_id=device_id,
        building_id=building_id,
        raised_after=raised_after,
        raised_before=raised_before,
    )
    return paginate(session, stmt, page, AlarmRead.model_validate)


@router.get("/shelves", response_model=Page[ShelfRead])
def list_shelves(
    *, _who: Reader, session: SessionDep, page: PageDep, in_force: bool = True
) -> Page[ShelfRead]:
    """Shelves, newest first; by default only those in force now."""
    return paginate(session, service.shelves_query(in_force=in_force), page, ShelfRead.model_validate)


@router.post("/shelves", response_model=ShelfRead, status_code=status.HTTP_201_CREATED)
def shelve_pair(who: Acknowledger, data: ShelfCreate, session: SessionDep) -> ShelfRead:
    """Shelve a (rule, device) pair for maintenance: no alarm is raised for it until `until`."""
    shelf = service.shelve_pair(
        session=session,
        rule_key=data.rule_key,
        device_id=data.device_id,
        until=data.until,
        reason=data.reason,
        actor=who.actor,
    )
    return ShelfRead.model_validate(shelf)


@router.post("/shelves/{shelf_id}/end", response_model=ShelfRead)
def end_shelf(who: Acknowledger, shelf_id: int, session: SessionDep) -> ShelfRead:
    """End a shelf early; 409 when it has ended already."""
    shelf = service.get_shelf(session=session, shelf_id=shelf_id)
    maintenance.unshelve(session, shelf=shelf, actor=who.actor)
    session.flush()
    return ShelfRead.model_validate(shelf)


@router.get("/{alarm_id}", response_model=AlarmRead)
def get_alarm(_who: Reader, alarm: ValidAlarm) -> AlarmRead:
    """One alarm."""
    return AlarmRead.model_validate(alarm)


@router.post("/{alarm_id}/acknowledge", response_model=AlarmRead)
def acknowledge_alarm(who: Acknowledger, alarm: ValidAlarm, session: SessionDep) -> AlarmRead:
    """Record that the caller has seen the alarm; 409 when it was acknowledged already."""
    return AlarmRead.model_validate(service.acknowledge(session=session, alarm=alarm, actor=who.actor))


@router.post("/{alarm_id}/close", response_model=AlarmRead)
def close_alarm(who: Acknowledger, alarm: ValidAlarm, session: SessionDep) -> AlarmRead:
    """Sign off an alarm the rules engine has cleared; 409 while it is active or when closed already."""
    return AlarmRead.model_validate(service.close(session=session, alarm=alarm, actor=who.actor))


@router.post("/{alarm_id}/shelve", response_model=ShelfRead, status_code=status.HTTP_201_CREATED)
def shelve_alarm(who: Acknowledger, alarm: ValidAlarm, data: ShelveRequest, session: SessionDep) -> ShelfRead:
    """Shelve the alarm's (rule, device) pair until `until`: no new alarm, no escalation meanwhile."""
    shelf = service.shelve(
        session=session, alarm=alarm, until=data.until, reason=data.reason, actor=who.actor
    )
    return ShelfRead.model_validate(shelf)


@router.post("/{alarm_id}/unshelve", response_model=ShelfRead)
def unshelve_alarm(who: Acknowledger, alarm: ValidAlarm, session: SessionDep) -> ShelfRead:
    """End the shelf in force for the alarm's pair; 409 when there is none."""
    return ShelfRead.model_validate(service.unshelve_alarm(session=session, alarm=alarm, actor=who.actor))
