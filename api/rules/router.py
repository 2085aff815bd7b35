"""Rules: everyone who works with alarms reads them; facility managers create, change and delete the
ones kept in the database. Rules from the rules file are listed too, read-only (409 on a change)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Response, status

from api.deps import Principal, SessionDep, SettingsDep, require_roles
from api.pagination import Page, PageDep
from api.rules import service
from api.rules.schemas import RuleRead, ScheduleRead
from cityhall.models import Role

router = APIRouter(prefix="/rules", tags=["rules"])

Manager = Annotated[Principal, Depends(require_roles(Role.FACILITY_MANAGER))]
Reader = Annotated[
    Principal,
    Depends(require_roles(Role.FACILITY_MANAGER, Role.MAINTENANCE_CREW, Role.ENERGY_COMMITTEE, Role.AUDITOR)),
]
EXAMPLE = {
    "key": "server-room-hot",
    "name": "Server room above 27 degC",
    "kind": "threshold",
    "quantity": "temperature_c",
    "above": 27,
    "for_seconds": 300,
    "clear_for_seconds": 600,
    "clear_below": 26,
    "severity": "high",
    "targets": {"space_kinds": ["server_room"]},
}
RuleBody = Annotated[
    dict[str, Any], Body(description="A rule, as under `rules:` in a rules file", examples=[EXAMPLE])
]


@router.get("", response_model=Page[RuleRead])
def list_rules(
    *,
    _who: Reader,
    session: SessionDep,
    settings: SettingsDep,
    page: PageDep,
    kind: Annotated[str | None, Query(description="Only rules of this kind")] = None,
) -> Page[RuleRead]:
    """Every rule: the rules file's first, then the database's by key."""
    rules = service.list_rules(session, settings, kind=kind)
    items = rules[page.offset : page.offset + page.limit]
    return Page[RuleRead](items=items, total=len(rules), limit=page.limit, offset=page.offset)


@router.get("/schedules", response_model=list[ScheduleRead])
def list_schedules(_who: Reader, settings: SettingsDep) -> list[ScheduleRead]:
    """The named schedules rules refer to (defined in the rules file)."""
    return service.list_schedules(settings)


@router.post("", response_model=RuleRead, status_code=status.HTTP_201_CREATED)
def create_rule(who: Manager, body: RuleBody, session: SessionDep, settings: SettingsDep) -> RuleRead:
    """Create a rule; 422 naming the field that is wrong, 409 when the key is taken."""
    return service.create(session, settings, body, actor=who.actor)


@router.get("/{key}", response_model=RuleRead)
def get_rule(_who: Reader, key: str, session: SessionDep, settings: SettingsDep) -> RuleRead:
    """One rule by key."""
    return service.get_rule(session, settings, key)


@router.put("/{key}", response_model=RuleRead)
def replace_rule(
    who: Manager, key: str, body: RuleBody, session: SessionDep, settings: SettingsDep
) -> RuleRead:
    """Replace a rule created through the API (409 for a rule of the rules file)."""
    return service.replace(session, settings, key, body, actor=who.actor)


@router.delete("/{key}", status_code=status.HTTP_204_NO_CONTENT)
def delete_rule(who: Manager, key: str, session: SessionDep, settings: SettingsDep) -> Response:
    """Delete a rule created through the API; its alarms stay."""
    service.delete(session, settings, key, actor=who.actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
