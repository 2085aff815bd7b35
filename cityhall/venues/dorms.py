"""Dormitories: rooms (VenueResource of kind dorm_room) assigned to staff, cleaned on an RRULE schedule,
inspected against a checklist and repaired through maintenance tickets; each room's energy and water.

A room under repair (a DormRepair whose ticket is open) takes no new assignment, and a blackout named after
the ticket keeps it from being booked; the blackout ends when the housekeeping pass sees the ticket closed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from cityhall.audit import add_created, audited
from cityhall.db import utcnow
from cityhall.errors import ConflictError, InvalidInputError, NotFoundError
from cityhall.maintenance import OPEN_TICKET_STATUSES, first_due, open_request_ticket, parse_rrule
from cityhall.models import (
    Blackout,
    CleaningStatus,
    Device,
    DeviceKind,
    DormAssignment,
    DormRepair,
    HousekeepingPlan,
    HousekeepingTask,
    Inspection,
    ResourceKind,
    Role,
    Ticket,
    TicketPriority,
    Trade,
    User,
    VenueResource,
)
from cityhall.timeseries import ReadingStore
from cityhall.venues.booking import lock_resource
from cityhall.venues.rules import TAIPEI

HOUSEKEEPING_ACTOR = "system:dorm-housekeeping"
# A repair's blackout has no known end; it is cut short when the ticket closes.
REPAIR_BLACKOUT = timedelta(days=3650)
# The cleaning cycle of hotel housekeeping; `inspected` is reached only through a passed inspection.
CLEANING_MOVES: dict[CleaningStatus, frozenset[CleaningStatus]] = {
    CleaningStatus.DIRTY: frozenset({CleaningStatus.CLEANING}),
    CleaningStatus.CLEANING: frozenset({CleaningStatus.CLEAN, CleaningStatus.DIRTY}),
    CleaningStatus.CLEAN: frozenset({CleaningStatus.DIRTY}),
    CleaningStatus.INSPECTED: frozenset(),
}
DEFAULT_CHECKLIST = ("Bed made, linen changed", "Floor clean", "Bathroom clean", "Air conditioner works")


def repair_reason(ticket_id: int) -> str:
    """The blackout reason that ties a room's booking block to its repair ticket."""
    return f"Under repair (ticket #{ticket_id})"


# --- rooms ---


def get_room(
    session: Session, room_id: int, *, loc: tuple[str | int, ...] = ("body", "room_id")
) -> VenueResource:
    """An active dormitory room, or 404 naming the field."""
    room = session.get(VenueResource, room_id)
    if room is None or not room.is_active or room.kind is not ResourceKind.DORM_ROOM:
        raise NotFoundError("room_not_found", f"no dormitory room {room_id}", loc=loc)
    return room


def rooms(session: Session) -> Sequence[VenueResource]:
    """Every active dormitory room, by code."""
    return session.scalars(
        select(VenueResource)
        .where(VenueResource.kind == ResourceKind.DORM_ROOM, VenueResource.is_active.is_(True))
        .order_by(VenueResource.code)
    ).all()


def open_repair(session: Session, room_id: int) -> Ticket | None:
    """The oldest open repair ticket of a room, or None when nothing blocks it."""
    return session.scalars(
        select(Ticket)
        .join(DormRepair, DormRepair.ticket_id == Ticket.id)
        .where(DormRepair.resource_id == room_id, Ticket.status.in_(OPEN_TICKET_STATUSES))
        .order_by(Ticket.id)
        .limit(1)
    ).first()


# --- assignments ---


def _overlapping(starts_on: date, ends_on: date | None) -> Any:
    """SQL condition: an assignment meeting [starts_on, ends_on) (None: open-ended)."""
    cond = or_(DormAssignment.ends_on.is_(None), DormAssignment.ends_on > starts_on)
    if ends_on is not None:
        cond = cond & (DormAssignment.starts_on < ends_on)
    return cond


def peak_occupants(assignments: Iterable[DormAssignment], starts_on: date, ends_on: date | None) -> int:
    """The most assignments in force on any one day of [starts_on, ends_on)."""
    events: list[tuple[date, int]] = []
    for a in assignments:
        first = max(a.starts_on, starts_on)
        last = a.ends_on if ends_on is None else (min(a.ends_on, ends_on) if a.ends_on else ends_on)
        if last is not None and last <= first:
            continue
        events.append((first, 1))
        if last is not None:
            events.append((last, -1))
    peak = current = 0
    for _day, delta in sorted(events, key=lambda e: (e[0], e[1])):  # ends (-1) before starts on one day
        current += delta
        peak = max(peak, current)
    return peak


def assign(
    session: Session,
    *,
    room: VenueResource,
    user_id: int,
    starts_on: date,
    ends_on: date | None,
    actor: str,
    note: str = "",
) -> DormAssignment:
    """Give a staff member a bed in a room for [starts_on, ends_on): refused when the person already holds
    a bed then, when the room is full on any day of the period, or while the room is under repair."""
    if ends_on is not None and ends_on <= starts_on:
        raise InvalidInputError(
            "ends_before_start", "ends_on must be after starts_on", loc=("body", "ends_on")
        )
    user = session.get(User, user_id)
    if user is None or not user.is_active or user.role is Role.SERVICE:
        raise NotFoundError("user_not_found", f"no active staff member {user_id}", loc=("body", "user_id"))
    lock_resource(session, room.id)  # serialise assignments of one room, like bookings
    repair = open_repair(session, room.id)
    if repair is not None:
        raise ConflictError(
            "room_under_repair",
            f"{room.name} is under repair (ticket #{repair.id}, {repair.status.value})",
            loc=("body", "room_id"),
        )
    elsewhere = session.scalars(
        select(DormAssignment)
        .where(DormAssignment.user_id == user_id, _overlapping(starts_on, ends_on))
        .order_by(DormAssignment.starts_on)
        .limit(1)
    ).first()
    if elsewhere is not None:
        raise ConflictError(
            "already_assigned",
            f"{user.full_name} already holds a bed in {elsewhere.room.name} from {elsewhere.starts_on}"
            f" (assignment {elsewhere.id})",
            loc=("body", "user_id"),
        )
    current = session.scalars(
        select(DormAssignment).where(DormAssignment.resource_id == room.id, _overlapping(starts_on, ends_on))
    ).all()
    if peak_occupants(current, starts_on, ends_on) + 1 > room.capacity_people:
        raise ConflictError(
            "room_full",
            f"{room.name} has {room.capacity_people} beds, all taken on some day of the period",
            loc=("body", "starts_on"),
        )
    assignment = DormAssignment(
        resource_id=room.id,
        user_id=user_id,
        starts_on=starts_on,
        ends_on=ends_on,
        note=note,
        created_by=actor,
        created_at=utcnow(),
    )
    add_created(session, assignment, entity="dorm_assignment", actor=actor)
    return assignment


def end_assignment(session: Session, *, assignment: DormAssignment, ends_on: date, actor: str) -> None:
    """Move out: the bed is free from `ends_on`."""
    if ends_on <= assignment.starts_on:
        raise InvalidInputError(
            "ends_before_start", "the move-out date must be after the move-in date", loc=("body", "ends_on")
        )
    with audited(session, assignment, entity="dorm_assignment", action="end", actor=actor):
        assignment.ends_on = ends_on


def occupants(session: Session, *, room_id: int, on: date) -> Sequence[DormAssignment]:
    """The assignments of a room in force on a day."""
    return session.scalars(
        select(DormAssignment)
        .where(DormAssignment.resource_id == room_id, _overlapping(on, on + timedelta(days=1)))
        .order_by(DormAssignment.starts_on, DormAssignment.id)
    ).all()


@dataclass(frozen=True, slots=True)
class Occupancy:
    """Beds taken out of beds available; `rate` is taken / available (0 when no beds)."""

    beds_taken: int
    beds: int

    @property
    def rate(self) -> float:
        """The share of beds taken."""
        return self.beds_taken / self.beds if self.beds else 0.0


def occupancy_on(session: Session, *, on: date) -> Occupancy:
    """The dormitories' occupancy on a day, over every active room."""
    all_rooms = rooms(session)
    taken = sum(len(occupants(session, room_id=r.id, on=on)) for r in all_rooms)
    return Occupancy(beds_taken=taken, beds=sum(r.capacity_people for r in all_rooms))


def bed_nights(assignments: Iterable[DormAssignment], first: date, after: date) -> int:
    """Nights occupied within [first, after), summed over the assignments."""
    total = 0
    for a in assignments:
        start = max(a.starts_on, first)
        end = min(a.ends_on, after) if a.ends_on is not None else after
        total += max((end - start).days, 0)
    return total


# --- housekeeping ---


def create_plan(
    session: Session,
    *,
    title: str,
    room: VenueResource | None,
    rrule: str,
    dtstart: datetime,
    actor: str,
) -> HousekeepingPlan:
    """A recurring cleaning plan for one room (or every room): an RFC 5545 RRULE in Taipei wall time."""
    nxt = first_due(rrule, dtstart=dtstart)
    plan = HousekeepingPlan(
        title=title,
        resource_id=room.id if room is not None else None,
        rrule=rrule.removeprefix("RRULE:").strip().upper(),
        dtstart=dtstart.astimezone(UTC),
        next_due_at=nxt,
        is_active=True,
        created_by=actor,
        created_at=utcnow(),
    )
    add_created(session, plan, entity="dorm_housekeeping_plan", actor=actor)
    return plan


def generate_cleaning_tasks(session: Session, *, now: datetime) -> list[HousekeepingTask]:
    """One dirty task per room for each plan whose occurrence is due, then advance the plan; idempotent.

    As with preventive maintenance, a pass after a long stop makes tasks for the latest missed occurrence
    only; the unique (plan, room, occurrence) keeps a second pass from doubling them.
    """
    created: list[HousekeepingTask] = []
    due = session.scalars(
        select(HousekeepingPlan)
        .where(HousekeepingPlan.is_active.is_(True), HousekeepingPlan.next_due_at <= now)
        .order_by(HousekeepingPlan.id)
    ).all()
    for plan in due:
        rule = parse_rrule(plan.rrule, dtstart=plan.dtstart)
        local_now = now.astimezone(TAIPEI)
        latest = rule.before(local_now, inc=True)
        occurrence = latest.astimezone(UTC) if latest is not None else plan.next_due_at
        targets = [get_room(session, plan.resource_id)] if plan.resource_id is not None else rooms(session)
        for room in targets:
            exists = session.scalar(
                select(HousekeepingTask.id).where(
                    HousekeepingTask.plan_id == plan.id,
                    HousekeepingTask.resource_id == room.id,
                    HousekeepingTask.scheduled_for == occurrence,
                )
            )
            if exists is None and occurrence is not None:
                task = HousekeepingTask(
                    plan_id=plan.id,
                    resource_id=room.id,
                    scheduled_for=occurrence,
                    status=CleaningStatus.DIRTY,
                    created_at=utcnow(),
                )
                add_created(session, task, entity="dorm_housekeeping_task", actor=HOUSEKEEPING_ACTOR)
                created.append(task)
        following = rule.after(local_now, inc=False)
        plan.next_due_at = following.astimezone(UTC) if following is not None else None
    return created


def move_task(session: Session, *, task: HousekeepingTask, to: CleaningStatus, actor: str) -> None:
    """Move a cleaning task along dirty -> cleaning -> clean; `inspected` comes from a passed inspection."""
    if to not in CLEANING_MOVES[task.status]:
        allowed = ", ".join(sorted(s.value for s in CLEANING_MOVES[task.status])) or "none (inspected)"
        raise ConflictError(
            "invalid_transition",
            f"task {task.id} is {task.status.value}; it cannot move to {to.value} (allowed: {allowed})",
            loc=("body", "status"),
        )
    with audited(session, task, entity="dorm_housekeeping_task", action=f"status:{to.value}", actor=actor):
        task.status = to
        task.updated_by = actor
        if to is CleaningStatus.CLEAN:
            task.cleaned_at = utcnow()


def latest_task(session: Session, room_id: int) -> HousekeepingTask | None:
    """The room's most recent cleaning task (the board shows its status)."""
    return session.scalars(
        select(HousekeepingTask)
        .where(HousekeepingTask.resource_id == room_id)
        .order_by(HousekeepingTask.scheduled_for.desc(), HousekeepingTask.id.desc())
        .limit(1)
    ).first()


def inspect_room(
    session: Session,
    *,
    room: VenueResource,
    inspector: str,
    items: Sequence[dict[str, Any]],
    task: HousekeepingTask | None = None,
) -> Inspection:
    """Record an inspection against a checklist ({item, ok, note}); it passes when every item is ok.

    With a cleaning task (which must be clean): a pass marks it inspected, a failure sends it back to dirty.
    """
    if not items:
        raise InvalidInputError("empty_checklist", "inspect at least one item", loc=("body", "items"))
    if task is not None:
        if task.resource_id != room.id:
            raise InvalidInputError(
                "task_of_other_room", "the task is another room's", loc=("body", "task_id")
            )
        if task.status is not CleaningStatus.CLEAN:
            raise ConflictError(
                "task_not_clean", f"task {task.id} is {task.status.value}, not clean", loc=("body", "task_id")
            )
    passed = all(bool(i.get("ok")) for i in items)
    inspection = Inspection(
        resource_id=room.id,
        task_id=task.id if task is not None else None,
        inspector=inspector,
        items=[
            {"item": str(i["item"]), "ok": bool(i.get("ok")), "note": str(i.get("note") or "")} for i in items
        ],
        passed=passed,
        inspected_at=utcnow(),
    )
    add_created(session, inspection, entity="dorm_inspection", actor=inspector)
    if task is not None:
        action = "status:inspected" if passed else "status:dirty"
        with audited(session, task, entity="dorm_housekeeping_task", action=action, actor=inspector):
            task.status = CleaningStatus.INSPECTED if passed else CleaningStatus.DIRTY
            task.updated_by = inspector
    return inspection


def latest_inspection(session: Session, room_id: int) -> Inspection | None:
    """The room's most recent inspection."""
    return session.scalars(
        select(Inspection)
        .where(Inspection.resource_id == room_id)
        .order_by(Inspection.inspected_at.desc(), Inspection.id.desc())
        .limit(1)
    ).first()


# --- repairs ---


def report_repair(
    session: Session,
    *,
    room: VenueResource,
    title: str,
    description: str,
    priority: TicketPriority,
    trade: Trade,
    actor: str,
) -> DormRepair:
    """Open a maintenance ticket for a room and block the room (no assignment, no booking) until it closes."""
    ticket = open_request_ticket(
        session,
        title=f"{room.name}: {title}",
        description=description,
        priority=priority,
        device=None,
        actor=actor,
        trade=trade,
    )
    repair = DormRepair(resource_id=room.id, ticket_id=ticket.id, created_at=utcnow())
    add_created(session, repair, entity="dorm_repair", actor=actor)
    start = utcnow()
    blackout = Blackout(
        resource_id=room.id,
        starts_at=start,
        ends_at=start + REPAIR_BLACKOUT,
        reason=repair_reason(ticket.id),
        created_by=actor,
        created_at=start,
    )
    add_created(session, blackout, entity="venue_blackout", actor=actor)
    return repair


def release_repaired_rooms(session: Session, *, now: datetime) -> list[int]:
    """End the booking block of every room whose repair ticket has closed; returns the ticket ids."""
    released: list[int] = []
    rows = session.execute(
        select(DormRepair, Ticket)
        .join(Ticket, Ticket.id == DormRepair.ticket_id)
        .where(Ticket.status.not_in(OPEN_TICKET_STATUSES))
    ).all()
    for repair, ticket in rows:
        blackouts = session.scalars(
            select(Blackout).where(
                Blackout.resource_id == repair.resource_id,
                Blackout.reason == repair_reason(ticket.id),
                Blackout.ends_at > now,
            )
        ).all()
        for blackout in blackouts:
            end = max(ticket.closed_at or now, blackout.starts_at + timedelta(seconds=1))
            with audited(
                session, blackout, entity="venue_blackout", action="release", actor=HOUSEKEEPING_ACTOR
            ):
                blackout.ends_at = end
            released.append(ticket.id)
    return released


# --- energy and water ---


@dataclass(frozen=True, slots=True)
class RoomUse:
    """A room's consumption over a period; None when the room has no meter for it."""

    energy_kwh: float | None
    water_m3: float | None


def register_delta(points: Sequence[tuple[datetime, float]]) -> float:
    """Consumption from a cumulative register: the sum of its rises (a reset or replaced meter adds 0)."""
    return sum(max(b[1] - a[1], 0.0) for a, b in pairwise(points))


def integrate_kw(points: Sequence[tuple[datetime, float]]) -> float:
    """Energy in kWh from power readings (trapezoids between consecutive readings)."""
    return sum((a[1] + b[1]) / 2 * (b[0] - a[0]).total_seconds() / 3600 for a, b in pairwise(points))


def room_use(
    session: Session, store: ReadingStore, *, room: VenueResource, since: datetime, until: datetime
) -> RoomUse:
    """A room's energy and water from the meters in its space: electricity meters' energy register, air
    conditioners' power integrated over time, water meters' volume register."""
    if room.space_id is None:
        return RoomUse(energy_kwh=None, water_m3=None)
    devices = session.scalars(select(Device).where(Device.space_id == room.space_id)).all()
    meters = [d.code for d in devices if d.kind is DeviceKind.ELECTRICITY_METER]
    acs = [d.code for d in devices if d.kind is DeviceKind.AIR_CONDITIONER]
    water = [d.code for d in devices if d.kind is DeviceKind.WATER_METER]
    energy: float | None = None
    if meters:
        series = store.window(quantity="energy_kwh", since=since, until=until, devices=meters)
        energy = sum(register_delta(points) for points in series.values())
    if acs:
        series = store.window(quantity="power_kw", since=since, until=until, devices=acs)
        energy = (energy or 0.0) + sum(integrate_kw(points) for points in series.values())
    volume: float | None = None
    if water:
        series = store.window(quantity="volume_m3", since=since, until=until, devices=water)
        volume = sum(register_delta(points) for points in series.values())
    return RoomUse(energy_kwh=energy, water_m3=volume)


def taipei_day_start(day: date) -> datetime:
    """Midnight of a Taipei day, as a UTC datetime."""
    return datetime.combine(day, time(0), TAIPEI).astimezone(UTC)
