"""Alarm and ticket lifecycle shared by the rules engine and the API; every change is audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityhall.audit import add_created, record, snapshot
from cityhall.db import utcnow
from cityhall.errors import ConflictError, InvalidInputError, NotFoundError
from cityhall.models import (
    Alarm,
    AlarmState,
    Device,
    Severity,
    Ticket,
    TicketPriority,
    TicketSource,
    TicketStatus,
    User,
)
from cityhall.models.users import Role

S = TicketStatus
# Allowed moves; anything else is a 409. Done and cancelled are final.
TICKET_TRANSITIONS: dict[TicketStatus, frozenset[TicketStatus]] = {
    S.OPEN: frozenset({S.ASSIGNED, S.IN_PROGRESS, S.CANCELLED}),
    S.ASSIGNED: frozenset({S.IN_PROGRESS, S.ON_HOLD, S.OPEN, S.CANCELLED}),
    S.IN_PROGRESS: frozenset({S.ON_HOLD, S.DONE, S.CANCELLED}),
    S.ON_HOLD: frozenset({S.IN_PROGRESS, S.CANCELLED}),
    S.DONE: frozenset(),
    S.CANCELLED: frozenset(),
}
OPEN_TICKET_STATUSES = frozenset({S.OPEN, S.ASSIGNED, S.IN_PROGRESS, S.ON_HOLD})

PRIORITY_FOR_SEVERITY = {
    Severity.LOW: TicketPriority.LOW,
    Severity.MEDIUM: TicketPriority.NORMAL,
    Severity.HIGH: TicketPriority.HIGH,
    Severity.CRITICAL: TicketPriority.URGENT,
}


@dataclass(frozen=True, slots=True)
class AlarmCondition:
    """What a rule found on a device, in the units of the quantity."""

    rule_key: str
    rule_name: str
    severity: Severity
    quantity: str
    unit: str
    threshold: float
    value: float
    since: datetime
    message: str


def active_alarm(session: Session, *, rule_key: str, device_id: int) -> Alarm | None:
    """The open alarm of a rule on a device, if any."""
    return session.scalars(
        select(Alarm).where(
            Alarm.rule_key == rule_key, Alarm.device_id == device_id, Alarm.state == AlarmState.ACTIVE
        )
    ).one_or_none()


def raise_alarm(session: Session, *, device: Device, condition: AlarmCondition, actor: str) -> Alarm | None:
    """Raise an alarm and open its linked ticket, unless one is already active for (rule, device).

    Returns the new alarm, or None when an active one already exists (deduplication).
    """
    if active_alarm(session, rule_key=condition.rule_key, device_id=device.id) is not None:
        return None
    alarm = Alarm(
        rule_key=condition.rule_key,
        rule_name=condition.rule_name,
        device_id=device.id,
        severity=condition.severity,
        quantity=condition.quantity,
        unit=condition.unit,
        threshold=condition.threshold,
        trigger_value=condition.value,
        message=condition.message,
        condition_since=condition.since,
        raised_at=utcnow(),
    )
    add_created(session, alarm, entity="alarm", actor=actor, action="raise")
    ticket = Ticket(
        title=f"{condition.rule_name}: {device.name}",
        description=condition.message,
        priority=PRIORITY_FOR_SEVERITY[condition.severity],
        source=TicketSource.RULE,
        alarm_id=alarm.id,
        device_id=device.id,
        reported_by=actor,
    )
    add_created(session, ticket, entity="ticket", actor=actor)
    return alarm


def clear_alarm(session: Session, *, alarm: Alarm, actor: str, at: datetime | None = None) -> None:
    """Mark an active alarm cleared; its ticket stays open for the crew to confirm."""
    if alarm.state is not AlarmState.ACTIVE:
        raise ConflictError("alarm_not_active", f"alarm {alarm.id} is already {alarm.state.value}")
    before = snapshot(alarm)
    alarm.state = AlarmState.CLEARED
    alarm.cleared_at = at or utcnow()
    record(
        session,
        actor=actor,
        action="clear",
        entity="alarm",
        entity_id=alarm.id,
        before=before,
        after=snapshot(alarm),
    )


def acknowledge_alarm(session: Session, *, alarm: Alarm, actor: str) -> None:
    """Record that someone has seen the alarm."""
    if alarm.acknowledged_at is not None:
        raise ConflictError("alarm_already_acknowledged", f"alarm {alarm.id} was acknowledged already")
    before = snapshot(alarm)
    alarm.acknowledged_at = utcnow()
    alarm.acknowledged_by = actor
    record(
        session,
        actor=actor,
        action="acknowledge",
        entity="alarm",
        entity_id=alarm.id,
        before=before,
        after=snapshot(alarm),
    )


def open_request_ticket(
    session: Session,
    *,
    title: str,
    description: str,
    priority: TicketPriority,
    device: Device | None,
    actor: str,
) -> Ticket:
    """Open a ticket from a person's online repair request."""
    ticket = Ticket(
        title=title,
        description=description,
        priority=priority,
        source=TicketSource.REQUEST,
        device_id=device.id if device else None,
        reported_by=actor,
    )
    add_created(session, ticket, entity="ticket", actor=actor)
    return ticket


def change_ticket_status(
    session: Session,
    *,
    ticket: Ticket,
    to: TicketStatus,
    actor: str,
    note: str | None = None,
    hold_reason: str | None = None,
) -> None:
    """Move a ticket along its lifecycle, or raise ConflictError naming the allowed moves."""
    allowed = TICKET_TRANSITIONS[ticket.status]
    if to not in allowed:
        options = ", ".join(sorted(s.value for s in allowed)) or "none (final state)"
        raise ConflictError(
            "invalid_transition",
            f"ticket {ticket.id} is {ticket.status.value}; it cannot move to {to.value} (allowed: {options})",
            loc=("body", "status"),
        )
    if to is S.ON_HOLD and not hold_reason:
        raise InvalidInputError(
            "hold_reason_required",
            "a reason is required to put a ticket on hold",
            loc=("body", "hold_reason"),
        )
    if to is S.ASSIGNED and ticket.assignee_id is None:
        raise InvalidInputError(
            "assignee_required", "assign the ticket to a crew member first", loc=("body", "assignee_id")
        )
    before = snapshot(ticket)
    ticket.status = to
    ticket.hold_reason = hold_reason if to is S.ON_HOLD else None
    if note:
        ticket.resolution_note = note
    if to in (S.DONE, S.CANCELLED):
        ticket.closed_at = utcnow()
    record(
        session,
        actor=actor,
        action=f"status:{to.value}",
        entity="ticket",
        entity_id=ticket.id,
        before=before,
        after=snapshot(ticket),
    )


def assign_ticket(session: Session, *, ticket: Ticket, assignee_id: int, actor: str) -> None:
    """Assign an open ticket to an active maintenance-crew member."""
    user = session.get(User, assignee_id)
    if user is None or not user.is_active:
        raise NotFoundError("user_not_found", f"no active user {assignee_id}", loc=("body", "assignee_id"))
    if user.role is not Role.MAINTENANCE_CREW:
        raise InvalidInputError(
            "not_crew", f"user {user.username} is not on a maintenance crew", loc=("body", "assignee_id")
        )
    if ticket.status not in OPEN_TICKET_STATUSES:
        raise ConflictError("ticket_closed", f"ticket {ticket.id} is {ticket.status.value}")
    before = snapshot(ticket)
    ticket.assignee_id = user.id
    if ticket.status is S.OPEN:
        ticket.status = S.ASSIGNED
    record(
        session,
        actor=actor,
        action="assign",
        entity="ticket",
        entity_id=ticket.id,
        before=before,
        after=snapshot(ticket),
    )
