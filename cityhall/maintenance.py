"""Alarm and ticket lifecycle shared by the rules engine and the API; every change is audited.

Alarms: raised -> acknowledged -> cleared (by the rules engine) -> closed (by a person), with shelving and
escalation. Every alarm transition is also queued in the alarm_event_outbox table in the same transaction
and later written to InfluxDB (measurement `alarm_events`) by `drain_alarm_events`, so Grafana can
annotate graphs without a slow or down InfluxDB ever blocking a transition.

Tickets (work orders): SLA due dates in business hours, crews by building and trade, notes with time
spent, photos, and preventive-maintenance jobs generated from RFC 5545 RRULE schedules.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Protocol
from zoneinfo import ZoneInfo

import holidays
from dateutil.rrule import rrule, rruleset, rrulestr
from prometheus_client import Counter
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from cityhall.audit import add_created, audited
from cityhall.db import transaction, utcnow
from cityhall.errors import ConflictError, DomainError, InvalidInputError, NotFoundError
from cityhall.models import (
    Alarm,
    AlarmEventOutbox,
    AlarmShelf,
    AlarmState,
    Crew,
    Device,
    Floor,
    MaintenanceSchedule,
    Severity,
    Space,
    Ticket,
    TicketNote,
    TicketPhoto,
    TicketPriority,
    TicketSource,
    TicketStatus,
    Trade,
    User,
    crew_members,
)
from cityhall.models.alarms import ANY_RULE
from cityhall.models.users import Role
from cityhall.timeseries.influx import InfluxStore
from cityhall.timeseries.lineprotocol import epoch_ns

log = logging.getLogger(__name__)

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
NOT_STARTED_STATUSES = frozenset({S.OPEN, S.ASSIGNED})

PRIORITY_FOR_SEVERITY = {
    Severity.LOW: TicketPriority.LOW,
    Severity.MEDIUM: TicketPriority.NORMAL,
    Severity.HIGH: TicketPriority.HIGH,
    Severity.CRITICAL: TicketPriority.URGENT,
}

# The trade a rule's quantity calls for, when the rule does not name one.
TRADE_FOR_QUANTITY: dict[str, Trade] = {
    "power_kw": Trade.ELECTRICAL,
    "energy_kwh": Trade.ELECTRICAL,
    "on_state": Trade.ELECTRICAL,
    "volume_m3": Trade.PLUMBING,
    "flow_m3h": Trade.PLUMBING,
    "temperature_c": Trade.HVAC,
    "humidity_pct": Trade.HVAC,
    "co2_ppm": Trade.HVAC,
    "setpoint_c": Trade.HVAC,
}

ESCALATION_ACTOR = "system:escalation"
SCHEDULE_ACTOR = "system:schedules"
# Minutes an alarm may stay active and unacknowledged before each escalation step, by severity.
DEFAULT_ESCALATION_MINUTES: dict[Severity, int] = {
    Severity.CRITICAL: 15,
    Severity.HIGH: 30,
    Severity.MEDIUM: 120,
    Severity.LOW: 480,
}


@dataclass(frozen=True, slots=True)
class AlarmCondition:
    """What a rule found on a device, in the units of the quantity; `trade` defaults from the quantity."""

    rule_key: str
    rule_name: str
    severity: Severity
    quantity: str
    unit: str
    threshold: float
    value: float
    since: datetime
    message: str
    trade: Trade | None = None


# --- business hours and SLA ---

TAIPEI = ZoneInfo("Asia/Taipei")


@dataclass(frozen=True, slots=True)
class BusinessHours:
    """Working time: Mon-Fri between `opens` and `closes` local time, except the country's public holidays."""

    tz: ZoneInfo = TAIPEI
    opens: time = time(8, 30)
    closes: time = time(17, 30)
    country: str = "TW"

    def is_working_day(self, day: date) -> bool:
        """True on a weekday that is not a public holiday (observed days included)."""
        return day.weekday() < 5 and day not in _holidays(self.country, day.year)


@cache
def _holidays(country: str, year: int) -> holidays.HolidayBase:
    return holidays.country_holidays(country, years=year)


OFFICE_HOURS = BusinessHours()

# Business minutes from opening to due date, per priority (one business day = 9 h, 08:30-17:30).
SLA_BUSINESS_MINUTES: dict[TicketPriority, int] = {
    TicketPriority.URGENT: 4 * 60,
    TicketPriority.HIGH: 1 * 9 * 60,
    TicketPriority.NORMAL: 3 * 9 * 60,
    TicketPriority.LOW: 10 * 9 * 60,
}


def add_business_minutes(start: datetime, minutes: int, *, hours: BusinessHours = OFFICE_HOURS) -> datetime:
    """The instant `minutes` of working time after `start` (aware); off-hours time does not count."""
    local = start.astimezone(hours.tz)
    remaining = timedelta(minutes=minutes)
    day = local.date()
    cursor = local
    while True:
        if hours.is_working_day(day):
            opens = datetime.combine(day, hours.opens, hours.tz)
            closes = datetime.combine(day, hours.closes, hours.tz)
            begin = max(cursor, opens)
            if begin < closes:
                if begin + remaining <= closes:
                    return (begin + remaining).astimezone(UTC)
                remaining -= closes - begin
        day += timedelta(days=1)
        cursor = datetime.combine(day, time(0), hours.tz)


def sla_due_at(
    opened_at: datetime,
    priority: TicketPriority,
    *,
    table: Mapping[TicketPriority, int] = SLA_BUSINESS_MINUTES,
    hours: BusinessHours = OFFICE_HOURS,
) -> datetime:
    """When a ticket of this priority opened at `opened_at` is due."""
    return add_business_minutes(opened_at, table[priority], hours=hours)


# --- alarm events (InfluxDB annotations) ---

EVENT_WRITE_FAILURES = Counter(
    "cityhall_alarm_event_write_failures", "Failed attempts to write alarm events to InfluxDB"
)
EVENTS_WRITTEN = Counter("cityhall_alarm_events_written", "Alarm events written to InfluxDB")


@dataclass(frozen=True, slots=True)
class AlarmEvent:
    """One alarm transition, as Grafana annotates it."""

    alarm_id: int
    transition: str
    at: datetime
    rule: str
    device: str
    building: str
    severity: str
    message: str
    value: float


class AlarmEventSink(Protocol):
    """Where alarm events go; `write` raises on failure so the outbox keeps the events for the next try."""

    def write(self, events: Sequence[AlarmEvent]) -> None:
        """Store the events, or raise."""


_TAG = str.maketrans({",": r"\,", " ": r"\ ", "=": r"\="})


def _field_str(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def encode_events(events: Sequence[AlarmEvent]) -> bytes:
    """Line protocol for measurement `alarm_events`: tags rule, device, building, severity, transition."""
    lines = []
    for e in events:
        tags = ",".join(
            f"{key}={value.translate(_TAG)}"
            for key, value in (
                ("building", e.building),
                ("device", e.device),
                ("rule", e.rule),
                ("severity", e.severity),
                ("transition", e.transition),
            )
            if value
        )
        fields = f"message={_field_str(e.message)},value={float(e.value)!r},alarm_id={e.alarm_id}i"
        lines.append(f"alarm_events,{tags} {fields} {epoch_ns(e.at)}")
    return ("\n".join(lines) + "\n").encode()


class InfluxAlarmEventSink:
    """Writes alarm events to InfluxDB through the InfluxStore's HTTP client (same auth and timeouts)."""

    def __init__(self, store: InfluxStore) -> None:
        self.store = store

    def write(self, events: Sequence[AlarmEvent]) -> None:
        """POST line protocol to /write; raise on any failure."""
        if not events:
            return
        self.store.write_lines(encode_events(events))


def building_code_of(device: Device | None) -> str:
    """The code of the building a device is in ("" without a device)."""
    return device.space.floor.building.code if device is not None else ""


def _queue_event(session: Session, alarm: Alarm, transition: str, at: datetime) -> None:
    """Queue an alarm transition in the outbox, in the caller's transaction."""
    session.add(
        AlarmEventOutbox(
            alarm_id=alarm.id,
            transition=transition,
            at=at,
            rule_key=alarm.rule_key,
            device_code=alarm.device.code,
            building_code=building_code_of(alarm.device),
            severity=alarm.severity.value,
            message=alarm.message[:500],
            value=alarm.trigger_value,
            attempts=0,
        )
    )


def drain_alarm_events(
    session_factory: sessionmaker[Session], *, sink: AlarmEventSink, limit: int = 500
) -> int:
    """Send pending outbox events to the sink and mark them published; on failure log, count, keep them."""
    with transaction(session_factory) as session:
        rows = session.scalars(
            select(AlarmEventOutbox)
            .where(AlarmEventOutbox.published_at.is_(None))
            .order_by(AlarmEventOutbox.id)
            .limit(limit)
        ).all()
        if not rows:
            return 0
        events = [
            AlarmEvent(
                alarm_id=r.alarm_id,
                transition=r.transition,
                at=r.at,
                rule=r.rule_key,
                device=r.device_code,
                building=r.building_code,
                severity=r.severity,
                message=r.message,
                value=r.value,
            )
            for r in rows
        ]
        try:
            sink.write(events)
        except Exception as err:  # noqa: BLE001 - any sink failure leaves the events for the next drain
            EVENT_WRITE_FAILURES.inc()
            log.warning("alarm events not written, will retry: %s (%d pending)", err, len(rows))
            for r in rows:
                r.attempts += 1
                r.last_error = str(err)[:500]
            return 0
        now = utcnow()
        for r in rows:
            r.published_at = now
        EVENTS_WRITTEN.inc(len(rows))
        return len(rows)


# --- alarms ---


def active_alarm(session: Session, *, rule_key: str, device_id: int) -> Alarm | None:
    """The open alarm of a rule on a device, if any."""
    return session.scalars(
        select(Alarm).where(
            Alarm.rule_key == rule_key, Alarm.device_id == device_id, Alarm.state == AlarmState.ACTIVE
        )
    ).one_or_none()


def active_shelf(
    session: Session, *, rule_key: str, device_id: int, now: datetime | None = None
) -> AlarmShelf | None:
    """The shelf in force for (rule, device) at `now`, if any (the one lasting longest); a planned-work
    shelf of the device (`ANY_RULE`) counts for every rule."""
    at = now or utcnow()
    return session.scalars(
        select(AlarmShelf)
        .where(
            AlarmShelf.rule_key.in_((rule_key, ANY_RULE)),
            AlarmShelf.device_id == device_id,
            AlarmShelf.until > at,
            AlarmShelf.ended_at.is_(None),
        )
        .order_by(AlarmShelf.until.desc())
        .limit(1)
    ).one_or_none()


def raise_alarm(session: Session, *, device: Device, condition: AlarmCondition, actor: str) -> Alarm | None:
    """Raise an alarm and open its linked ticket, unless one is already active for (rule, device).

    Returns the new alarm, or None when an active one already exists (deduplication) or the
    (rule, device) pair is shelved for maintenance.
    """
    if active_alarm(session, rule_key=condition.rule_key, device_id=device.id) is not None:
        return None
    now = utcnow()
    if active_shelf(session, rule_key=condition.rule_key, device_id=device.id, now=now) is not None:
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
        raised_at=now,
        escalation_level=0,
    )
    add_created(session, alarm, entity="alarm", actor=actor, action="raise")
    _queue_event(session, alarm, "raise", now)
    priority = PRIORITY_FOR_SEVERITY[condition.severity]
    ticket = Ticket(
        title=f"{condition.rule_name}: {device.name}",
        description=condition.message,
        priority=priority,
        source=TicketSource.RULE,
        alarm_id=alarm.id,
        device_id=device.id,
        reported_by=actor,
        created_at=now,
        due_at=sla_due_at(now, priority),
        trade=condition.trade or TRADE_FOR_QUANTITY.get(condition.quantity, Trade.GENERAL),
        needs_confirmation=False,
    )
    add_created(session, ticket, entity="ticket", actor=actor)
    auto_assign_crew(session, ticket=ticket, building_id=_building_id(device), actor=actor)
    return alarm


def clear_alarm(session: Session, *, alarm: Alarm, actor: str, at: datetime | None = None) -> None:
    """Mark an active alarm cleared; a linked ticket not yet started is flagged for confirmation."""
    if alarm.state is not AlarmState.ACTIVE:
        raise ConflictError("alarm_not_active", f"alarm {alarm.id} is already {alarm.state.value}")
    with audited(session, alarm, entity="alarm", action="clear", actor=actor):
        alarm.state = AlarmState.CLEARED
        alarm.cleared_at = at or utcnow()
    _queue_event(session, alarm, "clear", alarm.cleared_at)
    ticket = session.scalars(select(Ticket).where(Ticket.alarm_id == alarm.id)).one_or_none()
    if ticket is not None and ticket.status in NOT_STARTED_STATUSES and not ticket.needs_confirmation:
        # Not closed silently: a person decides whether the fault is really gone (cancel) or not (start work).
        with audited(session, ticket, entity="ticket", action="needs_confirmation", actor=actor):
            ticket.needs_confirmation = True


def acknowledge_alarm(session: Session, *, alarm: Alarm, actor: str) -> None:
    """Record that someone has seen the alarm."""
    if alarm.acknowledged_at is not None:
        raise ConflictError("alarm_already_acknowledged", f"alarm {alarm.id} was acknowledged already")
    if alarm.closed_at is not None:
        raise ConflictError("alarm_closed", f"alarm {alarm.id} is closed")
    with audited(session, alarm, entity="alarm", action="acknowledge", actor=actor):
        alarm.acknowledged_at = utcnow()
        alarm.acknowledged_by = actor
    _queue_event(session, alarm, "acknowledge", alarm.acknowledged_at)


def close_alarm(session: Session, *, alarm: Alarm, actor: str) -> None:
    """A person's sign-off on a cleared alarm; 409 while it is still active or when already closed."""
    if alarm.closed_at is not None:
        raise ConflictError("alarm_closed", f"alarm {alarm.id} is closed already")
    if alarm.state is not AlarmState.CLEARED:
        raise ConflictError(
            "alarm_not_cleared",
            f"alarm {alarm.id} is still active; it can be closed once the condition clears",
        )
    with audited(session, alarm, entity="alarm", action="close", actor=actor):
        alarm.closed_at = utcnow()
        alarm.closed_by = actor
    _queue_event(session, alarm, "close", alarm.closed_at)


def shelve(
    session: Session,
    *,
    rule_key: str,
    device_id: int,
    until: datetime,
    reason: str,
    actor: str,
    alarm: Alarm | None = None,
) -> AlarmShelf:
    """Shelve a (rule, device) pair until `until`: raise_alarm creates nothing and escalation skips it."""
    now = utcnow()
    if until <= now:
        raise InvalidInputError("until_in_past", "shelve until a time in the future", loc=("body", "until"))
    if not reason.strip():
        raise InvalidInputError("reason_required", "give a reason for shelving", loc=("body", "reason"))
    if session.get(Device, device_id) is None:
        raise NotFoundError("device_not_found", f"no device {device_id}", loc=("body", "device_id"))
    shelf = AlarmShelf(
        rule_key=rule_key,
        device_id=device_id,
        alarm_id=alarm.id if alarm else None,
        until=until,
        reason=reason,
        created_by=actor,
        created_at=now,
    )
    add_created(session, shelf, entity="alarm_shelf", actor=actor, action="shelve")
    if alarm is not None:
        _queue_event(session, alarm, "shelve", now)
    return shelf


def shelve_alarm(session: Session, *, alarm: Alarm, until: datetime, reason: str, actor: str) -> AlarmShelf:
    """Shelve the (rule, device) pair of an alarm; the alarm itself stays as it is, but is not escalated."""
    if alarm.closed_at is not None:
        raise ConflictError("alarm_closed", f"alarm {alarm.id} is closed")
    return shelve(
        session,
        rule_key=alarm.rule_key,
        device_id=alarm.device_id,
        until=until,
        reason=reason,
        actor=actor,
        alarm=alarm,
    )


def unshelve(session: Session, *, shelf: AlarmShelf, actor: str) -> None:
    """End a shelf early; 409 when it has already ended."""
    now = utcnow()
    if shelf.ended_at is not None or shelf.until <= now:
        raise ConflictError("shelf_ended", f"shelf {shelf.id} has already ended")
    with audited(session, shelf, entity="alarm_shelf", action="unshelve", actor=actor):
        shelf.ended_at = now
        shelf.ended_by = actor
    alarm = active_alarm(session, rule_key=shelf.rule_key, device_id=shelf.device_id)
    if alarm is not None:
        _queue_event(session, alarm, "unshelve", now)


def escalate_overdue(
    session: Session,
    *,
    now: datetime,
    after_minutes_by_severity: Mapping[Severity, int] = DEFAULT_ESCALATION_MINUTES,
) -> list[Alarm]:
    """Bump `escalation_level` of active, unacknowledged, unshelved alarms overdue by severity; return them.

    Level n is due `n * minutes` after the raise, so calling this every minute escalates once per period;
    each bump is audited as action "escalate" (the notifier sends the messages from the audit log).
    """
    escalated = []
    candidates = session.scalars(
        select(Alarm)
        .where(Alarm.state == AlarmState.ACTIVE, Alarm.acknowledged_at.is_(None))
        .order_by(Alarm.id)
    ).all()
    for alarm in candidates:
        minutes = after_minutes_by_severity.get(alarm.severity)
        if not minutes:
            continue
        due = alarm.raised_at + timedelta(minutes=minutes * (alarm.escalation_level + 1))
        if now < due or active_shelf(session, rule_key=alarm.rule_key, device_id=alarm.device_id, now=now):
            continue
        with audited(session, alarm, entity="alarm", action="escalate", actor=ESCALATION_ACTOR):
            alarm.escalation_level += 1
            alarm.escalated_at = now
        _queue_event(session, alarm, "escalate", now)
        escalated.append(alarm)
    return escalated


# --- crews ---


def _building_id(device: Device | None) -> int | None:
    return device.space.floor.building_id if device is not None else None


def matching_crews(session: Session, *, building_id: int, trade: Trade) -> list[Crew]:
    """Active crews serving the building in the trade."""
    crews = session.scalars(select(Crew).where(Crew.is_active.is_(True)).order_by(Crew.id)).all()
    return [c for c in crews if trade.value in c.trades and any(b.id == building_id for b in c.buildings)]


def auto_assign_crew(session: Session, *, ticket: Ticket, building_id: int | None, actor: str) -> Crew | None:
    """Assign a new ticket to a crew when exactly one crew serves its building in its trade."""
    if building_id is None:
        return None
    crews = matching_crews(session, building_id=building_id, trade=ticket.trade)
    if len(crews) != 1:
        return None
    assign_ticket_to_crew(session, ticket=ticket, crew=crews[0], actor=actor)
    return crews[0]


def assign_ticket_to_crew(session: Session, *, ticket: Ticket, crew: Crew, actor: str) -> None:
    """Give an open ticket to a crew; an open ticket becomes assigned."""
    if ticket.status not in OPEN_TICKET_STATUSES:
        raise ConflictError("ticket_closed", f"ticket {ticket.id} is {ticket.status.value}")
    if not crew.is_active:
        raise InvalidInputError("crew_inactive", f"crew {crew.name} is inactive", loc=("body", "crew_id"))
    with audited(session, ticket, entity="ticket", action="assign_crew", actor=actor):
        ticket.crew_id = crew.id
        if ticket.assignee_id is not None and ticket.assignee_id not in {m.id for m in crew.members}:
            ticket.assignee_id = None
        if ticket.status is S.OPEN:
            ticket.status = S.ASSIGNED


def crew_ids_of(session: Session, *, user_id: int) -> set[int]:
    """Ids of the crews a user belongs to."""
    return set(session.scalars(select(crew_members.c.crew_id).where(crew_members.c.user_id == user_id)))


def validate_crew_members(session: Session, *, user_ids: Iterable[int]) -> list[User]:
    """The users, each an active maintenance-crew member, or a 422 naming `member_ids`."""
    users = []
    for uid in user_ids:
        user = session.get(User, uid)
        if user is None or not user.is_active or user.role is not Role.MAINTENANCE_CREW:
            raise InvalidInputError(
                "not_crew", f"user {uid} is not an active maintenance-crew member", loc=("body", "member_ids")
            )
        users.append(user)
    return users


# --- tickets ---


def open_request_ticket(
    session: Session,
    *,
    title: str,
    description: str,
    priority: TicketPriority,
    device: Device | None,
    actor: str,
    trade: Trade = Trade.GENERAL,
) -> Ticket:
    """Open a ticket from a person's online repair request."""
    now = utcnow()
    ticket = Ticket(
        title=title,
        description=description,
        priority=priority,
        source=TicketSource.REQUEST,
        device_id=device.id if device else None,
        reported_by=actor,
        created_at=now,
        due_at=sla_due_at(now, priority),
        trade=trade,
        needs_confirmation=False,
    )
    add_created(session, ticket, entity="ticket", actor=actor)
    auto_assign_crew(session, ticket=ticket, building_id=_building_id(device), actor=actor)
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
    """Move a ticket along its lifecycle, or raise ConflictError naming the allowed moves.

    Starting work (in_progress) accepts the job: it acknowledges the linked alarm if nobody has yet.
    """
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
    if to is S.ASSIGNED and ticket.assignee_id is None and ticket.crew_id is None:
        raise InvalidInputError(
            "assignee_required",
            "assign the ticket to a crew or a crew member first",
            loc=("body", "assignee_id"),
        )
    with audited(session, ticket, entity="ticket", action=f"status:{to.value}", actor=actor):
        ticket.status = to
        ticket.hold_reason = hold_reason if to is S.ON_HOLD else None
        ticket.needs_confirmation = False  # a person has decided
        if note:
            ticket.resolution_note = note
        if to in (S.DONE, S.CANCELLED):
            ticket.closed_at = utcnow()
    alarm = ticket.alarm
    if (
        to is S.IN_PROGRESS
        and alarm is not None
        and alarm.acknowledged_at is None
        and alarm.closed_at is None
    ):
        acknowledge_alarm(session, alarm=alarm, actor=actor)


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
    with audited(session, ticket, entity="ticket", action="assign", actor=actor):
        ticket.assignee_id = user.id
        if ticket.status is S.OPEN:
            ticket.status = S.ASSIGNED


def add_note(
    session: Session, *, ticket: Ticket, author: str, text: str, time_spent_minutes: int = 0
) -> TicketNote:
    """Add a work note (with the minutes spent) to a ticket."""
    if time_spent_minutes < 0:
        raise InvalidInputError(
            "negative_time", "time_spent_minutes cannot be negative", loc=("body", "time_spent_minutes")
        )
    note = TicketNote(
        ticket_id=ticket.id,
        author=author,
        text=text,
        time_spent_minutes=time_spent_minutes,
        created_at=utcnow(),
    )
    add_created(session, note, entity="ticket_note", actor=author)
    return note


def time_spent_minutes(session: Session, *, ticket_id: int) -> int:
    """Total minutes logged in a ticket's notes."""
    total = session.scalar(
        select(func.coalesce(func.sum(TicketNote.time_spent_minutes), 0)).where(
            TicketNote.ticket_id == ticket_id
        )
    )
    return int(total or 0)


# --- photos ---

PHOTO_MAX_BYTES = 5 * 1024 * 1024
# Content type -> the magic bytes a file of that type starts with (checked, not trusted from the client).
PHOTO_SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/webp": (b"RIFF",),
}


class PhotoTooLargeError(DomainError):
    """The upload is over PHOTO_MAX_BYTES."""

    status_code = 413


class UnsupportedPhotoTypeError(DomainError):
    """The upload is not one of the image types we keep."""

    status_code = 415


def add_photo(
    session: Session, *, ticket: Ticket, filename: str, content_type: str, data: bytes, actor: str
) -> TicketPhoto:
    """Store a photo of the job: an image (JPEG, PNG, GIF, WebP) of at most 5 MB."""
    if len(data) > PHOTO_MAX_BYTES:
        raise PhotoTooLargeError(
            "photo_too_large",
            f"the photo is {len(data)} bytes; the limit is {PHOTO_MAX_BYTES}",
            loc=("body", "file"),
        )
    signatures = PHOTO_SIGNATURES.get(content_type)
    if signatures is None or not data.startswith(signatures):
        kinds = ", ".join(sorted(PHOTO_SIGNATURES))
        raise UnsupportedPhotoTypeError(
            "unsupported_photo_type",
            f"the file is not an image of a supported type ({kinds})",
            loc=("body", "file"),
        )
    photo = TicketPhoto(
        ticket_id=ticket.id,
        filename=(filename or "photo")[:255],
        content_type=content_type,
        size_bytes=len(data),
        data=data,
        uploaded_by=actor,
        created_at=utcnow(),
    )
    add_created(session, photo, entity="ticket_photo", actor=actor)
    return photo


# --- preventive maintenance schedules ---


def parse_rrule(text: str, *, dtstart: datetime) -> rrule | rruleset:
    """The recurrence of an RFC 5545 RRULE evaluated in Taipei time from `dtstart`; 422 naming `rrule`."""
    try:
        return rrulestr(text, dtstart=dtstart.astimezone(TAIPEI), forceset=False)
    except (ValueError, TypeError) as err:
        raise InvalidInputError("invalid_rrule", f"not a valid RRULE: {err}", loc=("body", "rrule")) from err


def first_due(rule_text: str, *, dtstart: datetime) -> datetime | None:
    """The first occurrence of a schedule (dtstart itself when it matches), in UTC."""
    first = parse_rrule(rule_text, dtstart=dtstart).after(dtstart.astimezone(TAIPEI), inc=True)
    return first.astimezone(UTC) if first is not None else None


def generate_due_jobs(session: Session, *, now: datetime, actor: str = SCHEDULE_ACTOR) -> list[Ticket]:
    """Open one ticket per schedule whose next occurrence is due, then advance `next_due_at`; idempotent.

    When the runner was down over several occurrences, only the latest missed one becomes a ticket (the
    earlier ones are superseded by it); the unique (schedule_id, scheduled_for) guards against doubles.
    """
    created = []
    due = session.scalars(
        select(MaintenanceSchedule)
        .where(MaintenanceSchedule.is_active.is_(True), MaintenanceSchedule.next_due_at <= now)
        .order_by(MaintenanceSchedule.id)
    ).all()
    for schedule in due:
        rule = parse_rrule(schedule.rrule, dtstart=schedule.dtstart)
        local_now = now.astimezone(TAIPEI)
        latest = rule.before(local_now, inc=True)
        occurrence = latest.astimezone(UTC) if latest is not None else schedule.next_due_at
        if occurrence is None:  # not reachable: selected by next_due_at <= now
            continue
        exists = session.scalar(
            select(Ticket.id).where(Ticket.schedule_id == schedule.id, Ticket.scheduled_for == occurrence)
        )
        if exists is None:
            ticket = _open_schedule_ticket(session, schedule=schedule, occurrence=occurrence, actor=actor)
            _shelve_planned_work(session, schedule=schedule, ticket=ticket, occurrence=occurrence, now=now)
            created.append(ticket)
        following = rule.after(local_now, inc=False)
        schedule.next_due_at = following.astimezone(UTC) if following is not None else None
    return created


def _open_schedule_ticket(
    session: Session, *, schedule: MaintenanceSchedule, occurrence: datetime, actor: str
) -> Ticket:
    ticket = Ticket(
        title=schedule.title,
        description=schedule.description,
        priority=schedule.priority,
        source=TicketSource.SCHEDULE,
        device_id=schedule.device_id,
        reported_by=actor,
        created_at=utcnow(),
        due_at=sla_due_at(occurrence, schedule.priority),
        trade=schedule.trade,
        schedule_id=schedule.id,
        scheduled_for=occurrence,
        needs_confirmation=False,
    )
    add_created(session, ticket, entity="ticket", actor=actor)
    building_id = _building_id(schedule.device)
    if building_id is None and schedule.space_id is not None:
        building_id = session.scalar(
            select(Floor.building_id)
            .join(Space, Space.floor_id == Floor.id)
            .where(Space.id == schedule.space_id)
        )
    auto_assign_crew(session, ticket=ticket, building_id=building_id, actor=actor)
    return ticket


def _shelve_planned_work(
    session: Session, *, schedule: MaintenanceSchedule, ticket: Ticket, occurrence: datetime, now: datetime
) -> list[AlarmShelf]:
    """Shelve every rule of the schedule's device (or of each device in its space) for `shelve_minutes`
    from the occurrence: the crew's own work (a meter swap, a service visit) is not a fault (issue 15)."""
    if not schedule.shelve_minutes:
        return []
    until = occurrence + timedelta(minutes=schedule.shelve_minutes)
    if until <= now:
        return []  # a missed occurrence whose window is over
    if schedule.device_id is not None:
        device_ids = [schedule.device_id]
    elif schedule.space_id is not None:
        device_ids = list(session.scalars(select(Device.id).where(Device.space_id == schedule.space_id)))
    else:
        return []
    reason = f"planned work: {schedule.title} (ticket #{ticket.id}, schedule #{schedule.id})"
    by = SCHEDULE_ACTOR
    shelves = [
        AlarmShelf(
            rule_key=ANY_RULE, device_id=d, until=until, reason=reason[:500], created_by=SCHEDULE_ACTOR
        )
        for d in device_ids
    ]
    for shelf in shelves:
        add_created(session, shelf, entity="alarm_shelf", actor=by)
    log.info("planned_work_shelved", extra={"ticket": ticket.id, "devices": device_ids, "until": until})
    return shelves


# --- the periodic hook ---


@dataclass(slots=True)
class MaintenanceCycleReport:
    """What one maintenance cycle did."""

    escalated: list[int] = field(default_factory=list)  # alarm ids
    jobs: list[int] = field(default_factory=list)  # ticket ids opened from schedules
    events_written: int = 0


def run_maintenance_cycle(
    session_factory: sessionmaker[Session],
    *,
    now: datetime | None = None,
    sink: AlarmEventSink | None = None,
    after_minutes_by_severity: Mapping[Severity, int] = DEFAULT_ESCALATION_MINUTES,
) -> MaintenanceCycleReport:
    """One pass of the periodic work: escalate overdue alarms, open due PM jobs, drain alarm events.

    Meant to be called every minute by a runner loop (the rules runner or the notifier).
    """
    at = now or utcnow()
    report = MaintenanceCycleReport()
    with transaction(session_factory) as session:
        report.escalated = [
            a.id
            for a in escalate_overdue(session, now=at, after_minutes_by_severity=after_minutes_by_severity)
        ]
    with transaction(session_factory) as session:
        report.jobs = [t.id for t in generate_due_jobs(session, now=at)]
    if sink is not None:
        report.events_written = drain_alarm_events(session_factory, sink=sink)
    return report
