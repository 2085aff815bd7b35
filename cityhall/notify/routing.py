"""Which events become notifications, and for whom: one table of routes, read from the audit log.

Every alarm and ticket change writes an audit row in the same transaction (cityhall.audit), so the audit
log is the event stream: a route names an audited (entity, action) and its audience. Adding an event is a
row in ROUTES, not a new code path.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from cityhall.models import Alarm, AuditEntry, Building, Crew, Device, Ticket, User, crew_buildings
from cityhall.models.users import Role
from cityhall.notify.messages import Audience, EventKind, Notification, local_text


@dataclass(frozen=True, slots=True)
class Route:
    """How one audited action becomes a notification."""

    entity: str  # AuditEntry.entity
    action: str  # AuditEntry.action
    kind: EventKind
    roles: tuple[Role, ...] = ()  # every active user of these roles
    building_crew: bool = False  # the crew of the alarm's building, when known
    assignee: bool = False  # the ticket's assignee named in the audit row


ROUTES: tuple[Route, ...] = (
    Route("alarm", "raise", EventKind.ALARM_RAISED, roles=(Role.FACILITY_MANAGER,), building_crew=True),
    # Escalation (issue 5, maintenance.py) audits action "escalate" with escalation_level in `after`.
    Route("alarm", "escalate", EventKind.ALARM_ESCALATED, roles=(Role.ADMIN,), building_crew=True),
    Route("ticket", "assign", EventKind.TICKET_ASSIGNED, assignee=True),
)
# Reminders of an unacknowledged alarm go to whoever heard about it being raised.
REPEAT_ROUTE = Route(
    "alarm", "repeat", EventKind.ALARM_REPEAT, roles=(Role.FACILITY_MANAGER,), building_crew=True
)


class CrewDirectory(Protocol):
    """Who looks after a building and who is in a crew."""

    def crews_of(self, session: Session, building: Building) -> list[str]:
        """The crews responsible for a building."""

    def members(self, session: Session, crew: str) -> list[User]:
        """Active members of a crew."""


class DatabaseCrewDirectory:
    """Crews from the crews tables: the active crews serving a building, and their active members."""

    def crews_of(self, session: Session, building: Building) -> list[str]:
        """Names of the active crews that serve the building, in name order."""
        stmt = (
            select(Crew.name)
            .join(crew_buildings, crew_buildings.c.crew_id == Crew.id)
            .where(crew_buildings.c.building_id == building.id, Crew.is_active.is_(True))
            .order_by(Crew.name)
        )
        return list(session.scalars(stmt))

    def members(self, session: Session, crew: str) -> list[User]:
        """The crew's active members (none when the crew is unknown or inactive)."""
        row = session.scalar(select(Crew).where(Crew.name == crew, Crew.is_active.is_(True)))
        return [u for u in row.members if u.is_active] if row is not None else []


def topic_safe(name: str) -> str:
    """A crew name usable as one MQTT topic level (no `/`, `+`, `#` or spaces)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "unnamed"


def audited_events(session: Session, *, since: datetime) -> Iterator[tuple[Route, AuditEntry]]:
    """Audit rows since `since` that some route turns into a notification, oldest first."""
    by_action = {(r.entity, r.action): r for r in ROUTES}
    matches = [and_(AuditEntry.entity == e, AuditEntry.action == a) for e, a in by_action]
    stmt = select(AuditEntry).where(AuditEntry.at >= since, or_(*matches)).order_by(AuditEntry.id)
    for entry in session.scalars(stmt):
        yield by_action[(entry.entity, entry.action)], entry


def building_of(device: Device | None) -> Building | None:
    """The building a device is in."""
    return device.space.floor.building if device is not None else None


def _audience(
    session: Session,
    route: Route,
    crews: CrewDirectory,
    *,
    building: Building | None,
    assignee_id: int | None = None,
) -> Audience:
    names = crews.crews_of(session, building) if route.building_crew and building is not None else []
    users = (assignee_id,) if route.assignee and assignee_id is not None else ()
    return Audience(roles=route.roles, crews=tuple(names), user_ids=users)


def alarm_notification(
    session: Session,
    alarm: Alarm,
    route: Route,
    crews: CrewDirectory,
    *,
    key: str,
    occurred_at: datetime,
    repeat: int = 0,
    level: int | None = None,
) -> Notification:
    """A notification about an alarm: raised, reminded or escalated."""
    device = alarm.device
    building = building_of(device)
    where = f"{device.name} ({device.code})" + (f", {building.name}" if building else "")
    ticket_id = session.scalar(select(Ticket.id).where(Ticket.alarm_id == alarm.id))
    severity = alarm.severity.value
    if route.kind is EventKind.ALARM_REPEAT:
        headline = f"Reminder {repeat}: unacknowledged {severity} alarm"
    elif route.kind is EventKind.ALARM_ESCALATED:
        headline = f"Escalated (level {level}): {severity} alarm" if level else f"Escalated {severity} alarm"
    else:
        headline = f"{severity.capitalize()} alarm"
    lines = [
        alarm.message,
        "",
        f"Where: {where}",
        f"Rule: {alarm.rule_name} ({alarm.rule_key})",
        f"Value: {alarm.trigger_value:g} {alarm.unit} (threshold {alarm.threshold:g} {alarm.unit})",
        f"Raised: {local_text(alarm.raised_at)}",
        f"State: {alarm.state.value}" + (", acknowledged" if alarm.acknowledged_at else ", not acknowledged"),
        f"Alarm #{alarm.id}" + (f", ticket #{ticket_id}" if ticket_id else ""),
    ]
    return Notification(
        key=key,
        kind=route.kind,
        subject=f"[CityHall Ops] {headline}: {alarm.rule_name} at {device.name}",
        body="\n".join(lines),
        severity=severity,
        occurred_at=occurred_at,
        audience=_audience(session, route, crews, building=building),
        alarm_id=alarm.id,
        ticket_id=ticket_id,
        facts={
            "rule_key": alarm.rule_key,
            "device": device.code,
            "building": building.code if building else None,
            "value": alarm.trigger_value,
            "threshold": alarm.threshold,
            "unit": alarm.unit,
            "raised_at": alarm.raised_at.isoformat(),
            "repeat": repeat,
            "escalation_level": level,
        },
    )


def event_notification(
    session: Session, route: Route, entry: AuditEntry, crews: CrewDirectory
) -> Notification | None:
    """The notification an audited event calls for, or None when its subject is gone."""
    after = entry.after or {}
    if entry.entity == "alarm":
        alarm = session.get(Alarm, int(entry.entity_id))
        if alarm is None:
            return None
        if route.kind is EventKind.ALARM_RAISED:
            key = f"alarm:{alarm.id}:raised"
        else:
            key = f"alarm:{alarm.id}:{entry.action}:{entry.id}"
        level = after.get("escalation_level")
        return alarm_notification(
            session,
            alarm,
            route,
            crews,
            key=key,
            occurred_at=entry.at,
            level=level if isinstance(level, int) else None,
        )
    ticket = session.get(Ticket, int(entry.entity_id))
    assignee_id = after.get("assignee_id")
    if ticket is None or not isinstance(assignee_id, int):
        return None
    building = building_of(ticket.device)
    lines = [
        ticket.title,
        "",
        ticket.description or "(no description)",
        "",
        f"Priority: {ticket.priority.value}",
        f"Status: {ticket.status.value}",
        f"Where: {ticket.device.name} ({ticket.device.code})" if ticket.device else "Where: not given",
        f"Assigned: {local_text(entry.at)} by {entry.actor}",
        f"Ticket #{ticket.id}" + (f", alarm #{ticket.alarm_id}" if ticket.alarm_id else ""),
    ]
    return Notification(
        key=f"ticket:{ticket.id}:assign:{entry.id}",
        kind=route.kind,
        subject=f"[CityHall Ops] Ticket #{ticket.id} assigned to you: {ticket.title}",
        body="\n".join(lines),
        severity=None,
        occurred_at=entry.at,
        audience=_audience(session, route, crews, building=building, assignee_id=assignee_id),
        alarm_id=ticket.alarm_id,
        ticket_id=ticket.id,
        facts={"priority": ticket.priority.value, "assignee_id": assignee_id},
    )
