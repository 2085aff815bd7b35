"""Alarms: read by facility, crew, energy committee and auditors; acknowledged by facility and crew."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import AwareDatetime

from api.alarms import service
from api.alarms.dependencies import ValidAlarm
from api.alarms.schemas import AlarmRead
from api.deps import Principal, SessionDep, require_roles
from api.pagination import Page, PageDep, paginate
from cityhall.models import AlarmState, Role, Severity

router = APIRouter(prefix="/alarms", tags=["alarms"])

Reader = Annotated[
    Principal,
    Depends(require_roles(Role.FACILITY_MANAGER, Role.MAINTENANCE_CREW, Role.ENERGY_COMMITTEE, Role.AUDITOR)),
]
Acknowledger = Annotated[Principal, Depends(require_roles(Role.FACILITY_MANAGER, Role.MAINTENANCE_CREW))]


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


@router.get("/{alarm_id}", response_model=AlarmRead)
def get_alarm(_who: Reader, alarm: ValidAlarm) -> AlarmRead:
    """One alarm."""
    return AlarmRead.model_validate(alarm)


@router.post("/{alarm_id}/acknowledge", response_model=AlarmRead)
def acknowledge_alarm(who: Acknowledger, alarm: ValidAlarm, session: SessionDep) -> AlarmRead:
    """Record that the caller has seen the alarm; 409 when it was acknowledged already."""
    return AlarmRead.model_validate(service.acknowledge(session=session, alarm=alarm, actor=who.actor))
