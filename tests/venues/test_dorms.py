"""Dormitories on SQLite and PostgreSQL: assignments (no double assignment, capacity), repairs that block
a room for assignment and booking until their ticket is done, cleaning tasks from an RRULE made by the
housekeeping pass, inspections, occupancy, each room's energy and water from the reading store, and the API."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cityhall.contract import Reading
from cityhall.db import make_engine, transaction
from cityhall.errors import ConflictError, InvalidInputError
from cityhall.maintenance import change_ticket_status
from cityhall.models import (
    Audience,
    Blackout,
    CleaningStatus,
    Device,
    DeviceKind,
    DormAssignment,
    HousekeepingTask,
    ResourceKind,
    Ticket,
    TicketPriority,
    TicketStatus,
    Trade,
)
from cityhall.settings import Settings
from cityhall.timeseries.sql import SqlStore
from cityhall.venues import booking as booking_service
from cityhall.venues import dorms
from cityhall.venues.rules import TAIPEI
from cityhall.venues.upkeep import run_venue_cycle
from tests.api.api_testdata import AssetIds, AuthFor
from tests.venues.conftest import MakeResource, at

DORM_ROOM: dict[str, object] = {
    "kind": ResourceKind.DORM_ROOM,
    "audience": Audience.INTERNAL,
    "opening_hours": None,
    "requires_approval": False,
    "closed_on_holidays": False,
    "buffer_minutes": 0,
    "fee_per_hour_twd": 0,
    "equipment": [],
}


@pytest.fixture
def make_room(make_resource: MakeResource) -> MakeResource:
    """Create a dormitory room (two beds unless told); returns its id."""

    def make(**overrides: object) -> int:
        return make_resource(**{"name": "Room 101", "capacity_people": 2, **DORM_ROOM, **overrides})

    return make


def test_a_bed_is_never_given_twice(
    session_factory: sessionmaker[Session], people: dict[str, int], make_room: MakeResource
) -> None:
    single, double = make_room(code="R1", capacity_people=1), make_room(code="R2", name="Room 102")
    with transaction(session_factory) as session:
        room = dorms.get_room(session, single)
        dorms.assign(
            session,
            room=room,
            user_id=people["sam"],
            starts_on=date(2027, 1, 1),
            ends_on=date(2027, 2, 1),
            actor="t",
        )
        # The single room is full in January, free again on 1 February (ends_on is exclusive).
        with pytest.raises(ConflictError, match="1 beds") as full:
            dorms.assign(
                session,
                room=room,
                user_id=people["sue"],
                starts_on=date(2027, 1, 20),
                ends_on=None,
                actor="t",
            )
        assert full.value.code == "room_full"
        dorms.assign(
            session, room=room, user_id=people["sue"], starts_on=date(2027, 2, 1), ends_on=None, actor="t"
        )
        # Sam cannot hold a second bed elsewhere in January...
        other = dorms.get_room(session, double)
        with pytest.raises(ConflictError, match="already holds a bed") as twice:
            dorms.assign(
                session,
                room=other,
                user_id=people["sam"],
                starts_on=date(2027, 1, 31),
                ends_on=None,
                actor="t",
            )
        assert twice.value.loc == ("body", "user_id")
        # ...but may move there from February.
        moved = dorms.assign(
            session, room=other, user_id=people["sam"], starts_on=date(2027, 2, 1), ends_on=None, actor="t"
        )
        with pytest.raises(InvalidInputError):
            dorms.end_assignment(session, assignment=moved, ends_on=date(2027, 2, 1), actor="t")
        dorms.end_assignment(session, assignment=moved, ends_on=date(2027, 3, 1), actor="t")
        assert [a.user_id for a in dorms.occupants(session, room_id=double, on=date(2027, 2, 28))] == [
            people["sam"]
        ]
        assert dorms.occupants(session, room_id=double, on=date(2027, 3, 1)) == []
        occupancy = dorms.occupancy_on(session, on=date(2027, 2, 15))
        assert (occupancy.beds_taken, occupancy.beds, occupancy.rate) == (2, 3, 2 / 3)


def test_capacity_counts_people_present_on_the_same_day() -> None:
    """Two stays that follow each other take one bed; the peak is per day, not per period."""
    stays = [
        DormAssignment(starts_on=date(2027, 1, 1), ends_on=date(2027, 1, 10)),
        DormAssignment(starts_on=date(2027, 1, 10), ends_on=date(2027, 1, 20)),
        DormAssignment(starts_on=date(2027, 1, 15), ends_on=None),
    ]
    assert dorms.peak_occupants(stays, date(2027, 1, 1), date(2027, 1, 12)) == 1
    assert dorms.peak_occupants(stays, date(2027, 1, 1), None) == 2
    assert dorms.bed_nights(stays, date(2027, 1, 1), date(2027, 2, 1)) == 9 + 10 + 17


def test_an_open_repair_blocks_the_room_until_its_ticket_is_done(
    session_factory: sessionmaker[Session], people: dict[str, int], make_room: MakeResource, day: date
) -> None:
    room_id = make_room()
    with transaction(session_factory) as session:
        repair = dorms.report_repair(
            session,
            room=dorms.get_room(session, room_id),
            title="Leaking shower",
            description="Water on the floor",
            priority=TicketPriority.HIGH,
            trade=Trade.PLUMBING,
            actor="user:fiona",
        )
        ticket_id = repair.ticket_id
    with transaction(session_factory) as session:
        room = dorms.get_room(session, room_id)
        with pytest.raises(ConflictError, match=f"ticket #{ticket_id}") as blocked:
            dorms.assign(session, room=room, user_id=people["sam"], starts_on=day, ends_on=None, actor="t")
        assert blocked.value.code == "room_under_repair"
    booker = booking_service.Booker(actor="user:sam", user_id=people["sam"])
    stay = booking_service.SlotRequest("Visiting inspector", at(day, 20), at(day + timedelta(days=1), 8), 1)
    with transaction(session_factory) as session, pytest.raises(InvalidInputError, match="Under repair"):
        booking_service.create_booking(
            session, resource=dorms.get_room(session, room_id), booker=booker, request=stay
        )
    with transaction(session_factory) as session:
        ticket = session.get_one(Ticket, ticket_id)
        assert ticket.title == "Room 101: Leaking shower"
        change_ticket_status(session, ticket=ticket, to=TicketStatus.IN_PROGRESS, actor="user:chen")
        change_ticket_status(session, ticket=ticket, to=TicketStatus.DONE, actor="user:chen", note="Resealed")
    # Assignment is free at once (it reads the ticket); booking once the housekeeping pass ends the block.
    with transaction(session_factory) as session:
        dorms.assign(
            session,
            room=dorms.get_room(session, room_id),
            user_id=people["sam"],
            starts_on=day,
            ends_on=None,
            actor="t",
        )
    run_venue_cycle(session_factory)
    with transaction(session_factory) as session:
        blackout = session.scalars(select(Blackout).where(Blackout.resource_id == room_id)).one()
        assert blackout.ends_at - blackout.starts_at < timedelta(minutes=1)  # ended with the ticket
        booking = booking_service.create_booking(
            session, resource=dorms.get_room(session, room_id), booker=booker, request=stay
        )
        assert booking.status.value == "confirmed"


def test_cleaning_tasks_follow_the_rrule_and_the_room_cycle(
    session_factory: sessionmaker[Session], people: dict[str, int], make_room: MakeResource
) -> None:
    first, second = make_room(code="R1"), make_room(code="R2", name="Room 102")
    start = datetime(2027, 3, 1, 10, tzinfo=TAIPEI)  # a Monday; cleaned Mondays and Thursdays at 10:00
    with transaction(session_factory) as session:
        plan = dorms.create_plan(
            session,
            title="Weekly clean",
            room=None,
            rrule="FREQ=WEEKLY;BYDAY=MO,TH",
            dtstart=start,
            actor="t",
        )
        assert plan.next_due_at == start.astimezone(UTC)
    assert run_venue_cycle(session_factory, now=start - timedelta(minutes=1)) == []
    with session_factory() as session:
        assert session.scalars(select(HousekeepingTask)).all() == []
    run_venue_cycle(session_factory, now=start + timedelta(minutes=5))
    run_venue_cycle(session_factory, now=start + timedelta(minutes=6))  # a second pass adds nothing
    run_venue_cycle(session_factory, now=start + timedelta(days=3, minutes=1))  # Thursday
    with transaction(session_factory) as session:
        tasks = session.scalars(
            select(HousekeepingTask).order_by(HousekeepingTask.scheduled_for, HousekeepingTask.resource_id)
        ).all()
        assert [(t.resource_id, t.scheduled_for.astimezone(TAIPEI).day) for t in tasks] == [
            (first, 1),
            (second, 1),
            (first, 4),
            (second, 4),
        ]
        assert {t.status for t in tasks} == {CleaningStatus.DIRTY}
        task = tasks[2]
        with pytest.raises(ConflictError, match="allowed: cleaning"):
            dorms.move_task(session, task=task, to=CleaningStatus.CLEAN, actor="user:chen")
        dorms.move_task(session, task=task, to=CleaningStatus.CLEANING, actor="user:chen")
        room = dorms.get_room(session, first)
        with pytest.raises(ConflictError, match="not clean"):
            dorms.inspect_room(
                session, room=room, inspector="user:fiona", items=[{"item": "Floor", "ok": True}], task=task
            )
        dorms.move_task(session, task=task, to=CleaningStatus.CLEAN, actor="user:chen")
        assert task.cleaned_at is not None
        failed = dorms.inspect_room(
            session,
            room=room,
            inspector="user:fiona",
            items=[
                {"item": "Floor clean", "ok": True},
                {"item": "Bathroom clean", "ok": False, "note": "Mould"},
            ],
            task=task,
        )
        assert not failed.passed
        assert task.status is CleaningStatus.DIRTY  # back to the start of the cycle
        for step in (CleaningStatus.CLEANING, CleaningStatus.CLEAN):
            dorms.move_task(session, task=task, to=step, actor="user:chen")
        passed = dorms.inspect_room(
            session,
            room=room,
            inspector="user:fiona",
            items=[{"item": i, "ok": True} for i in dorms.DEFAULT_CHECKLIST],
            task=task,
        )
        assert passed.passed
        assert task.status.value == "inspected"  # (mypy narrowed the status to DIRTY above)
        assert dorms.latest_task(session, first) is task


def test_room_energy_and_water_come_from_its_meters(
    session_factory: sessionmaker[Session], settings: Settings, assets: AssetIds, make_room: MakeResource
) -> None:
    room_id = make_room(space_id=assets.dorm_room_id)
    with transaction(session_factory) as session:
        session.add_all(
            [
                Device(
                    space_id=assets.dorm_room_id,
                    code="yh-d-101-ac",
                    name="Room AC",
                    kind=DeviceKind.AIR_CONDITIONER,
                    quantities=["power_kw"],
                ),
                Device(
                    space_id=assets.dorm_room_id,
                    code="yh-d-101-water",
                    name="Room water",
                    kind=DeviceKind.WATER_METER,
                    quantities=["volume_m3"],
                ),
            ]
        )
    t0 = datetime(2026, 11, 1, 0, tzinfo=UTC)

    def reading(device: str, quantity: str, minutes: int, value: float) -> Reading:
        return Reading(device=device, quantity=quantity, ts=t0 + timedelta(minutes=minutes), value=value)

    store = SqlStore(make_engine(settings.database_url))
    store.write(
        [
            # The meter's register: +2 kWh, then replaced (reads 1.0), then +2 kWh more: 4 kWh.
            reading("yh-d-101-meter", "energy_kwh", 0, 100.0),
            reading("yh-d-101-meter", "energy_kwh", 30, 102.0),
            reading("yh-d-101-meter", "energy_kwh", 60, 1.0),
            reading("yh-d-101-meter", "energy_kwh", 90, 3.0),
            # The air conditioner drew 1.2 kW for an hour, then 0.4 kW for half an hour: 1.2 + 0.4 = 1.6 kWh.
            reading("yh-d-101-ac", "power_kw", 0, 1.2),
            reading("yh-d-101-ac", "power_kw", 60, 1.2),
            reading("yh-d-101-ac", "power_kw", 61, 0.4),
            reading("yh-d-101-ac", "power_kw", 91, 0.4),
            reading("yh-d-101-water", "volume_m3", 0, 10.0),
            reading("yh-d-101-water", "volume_m3", 90, 10.35),
            reading("yh-a-main", "energy_kwh", 0, 5.0),  # another building's meter: not the room's
            reading("yh-a-main", "energy_kwh", 90, 500.0),
        ],
        {},
    )
    with session_factory() as session:
        use = dorms.room_use(
            session, store, room=dorms.get_room(session, room_id), since=t0, until=t0 + timedelta(hours=2)
        )
    store.close()
    # The 1-minute step from 1.2 to 0.4 kW adds (1.2 + 0.4) / 2 / 60 kWh to the trapezoids.
    assert use.energy_kwh == pytest.approx(4.0 + 1.2 + 0.8 / 60 + 0.4 * 0.5)
    assert use.water_m3 == pytest.approx(0.35)


def test_dormitory_api(
    client: TestClient, auth_for: AuthFor, people: dict[str, int], make_room: MakeResource
) -> None:
    room = make_room()
    fiona = auth_for("fiona")
    body = {"room_id": room, "user_id": people["sam"], "starts_on": "2027-01-01"}
    assert client.post("/dorms/assignments", json=body, headers=auth_for("sam")).status_code == 403
    created = client.post("/dorms/assignments", json=body, headers=fiona)
    assert created.status_code == 201, created.text
    twice = client.post("/dorms/assignments", json=body, headers=fiona)
    assert twice.status_code == 409
    assert twice.json()["detail"][0] == {
        "type": "already_assigned",
        "msg": twice.json()["detail"][0]["msg"],
        "loc": ["body", "user_id"],
    }
    assert client.post("/dorms/assignments", json={**body, "room_id": 9999}, headers=fiona).status_code == 404

    rooms = client.get("/dorms/rooms", params={"on": "2027-01-05"}, headers=fiona).json()
    assert rooms[0]["beds_taken"] == 1
    assert rooms[0]["occupants"][0]["name"] == "Sam"
    occupancy = client.get("/dorms/occupancy", params={"on": "2027-01-05"}, headers=auth_for("audrey")).json()
    assert occupancy == {"on": "2027-01-05", "beds": 2, "beds_taken": 1, "occupancy_pct": 50.0}

    repair = client.post(
        "/dorms/repairs", json={"room_id": room, "title": "Broken window", "trade": "general"}, headers=fiona
    )
    assert repair.status_code == 201
    assert repair.json()["blocks_room"] is True
    blocked = client.post("/dorms/assignments", json={**body, "user_id": people["sue"]}, headers=fiona)
    assert blocked.json()["detail"][0]["type"] == "room_under_repair"
    assert (
        client.get(f"/dorms/rooms/{room}", headers=fiona).json()["blocked_by_ticket_id"]
        == repair.json()["ticket_id"]
    )

    plan = client.post(
        "/dorms/housekeeping/plans",
        json={
            "title": "Daily",
            "room_id": room,
            "rrule": "FREQ=DAILY;BYHOUR=10",
            "dtstart": "2027-01-01T10:00:00+08:00",
        },
        headers=fiona,
    )
    assert plan.status_code == 201
    assert plan.json()["next_due_at"] == "2027-01-01T02:00:00Z"
    bad_rule = client.post(
        "/dorms/housekeeping/plans",
        json={"title": "Daily", "rrule": "FREQ=SOMETIMES", "dtstart": "2027-01-01T10:00:00+08:00"},
        headers=fiona,
    )
    assert bad_rule.status_code == 422
    assert bad_rule.json()["detail"][0]["loc"] == ["body", "rrule"]

    inspection = client.post(
        "/dorms/inspections",
        json={
            "room_id": room,
            "items": [{"item": "Floor clean", "ok": True}, {"item": "Window", "ok": False}],
        },
        headers=fiona,
    )
    assert inspection.status_code == 201
    assert inspection.json()["passed"] is False
    assert (
        client.get("/dorms/inspections", params={"room_id": room}, headers=fiona).json()[0]["id"]
        == inspection.json()["id"]
    )
    assert client.get("/dorms/repairs", headers=fiona).json()[0]["title"] == "Room 101: Broken window"
    use = client.get(
        f"/dorms/rooms/{room}/use",
        params={"since": "2026-11-01T00:00:00+08:00", "until": "2026-11-02T00:00:00+08:00"},
        headers=fiona,
    )
    assert use.json()["energy_kwh"] is None  # the room has no space, so no meter
