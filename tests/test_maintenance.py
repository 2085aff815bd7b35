"""The maintenance service on SQLite and PostgreSQL: alarm lifecycle, events, SLA, crews, notes, PM jobs."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cityhall import maintenance
from cityhall.db import Base, make_engine, make_sessionmaker, transaction, utcnow
from cityhall.errors import ConflictError, InvalidInputError
from cityhall.maintenance import TAIPEI, AlarmCondition, AlarmEvent, InfluxAlarmEventSink
from cityhall.models import (
    Alarm,
    AlarmEventOutbox,
    AlarmShelf,
    AuditEntry,
    Building,
    BuildingUse,
    Crew,
    Device,
    DeviceKind,
    Floor,
    MaintenanceSchedule,
    Role,
    Severity,
    Site,
    Space,
    SpaceKind,
    Ticket,
    TicketPriority,
    TicketSource,
    TicketStatus,
    Trade,
    User,
)
from cityhall.timeseries.influx import InfluxStore
from tests import servers

ACTOR = "system:rules"


@pytest.fixture
def factory(db_url: str) -> Iterator[sessionmaker[Session]]:
    """A schema with one building, one meter and two crew members (ids via `ids`)."""
    engine = make_engine(db_url)
    Base.metadata.create_all(engine)
    made = make_sessionmaker(engine)
    with transaction(made) as session:
        site = Site(code="YH", name="Yonghua", address="Yonghua Rd")
        building = Building(
            site=site, code="YH-A", name="Civic", use=BuildingUse.CIVIC_CENTER, gross_floor_area_m2=1.0
        )
        floor = Floor(building=building, level=1, name="1F", area_m2=1.0)
        space = Space(floor=floor, code="YH-A-101", name="Office", kind=SpaceKind.OFFICE, area_m2=1.0)
        meter = Device(
            space=space,
            code="yh-a-main",
            name="Main meter",
            kind=DeviceKind.ELECTRICITY_METER,
            quantities=["power_kw"],
        )
        people = [
            User(
                username=n,
                full_name=n,
                email=f"{n}@x.tw",
                role=Role.MAINTENANCE_CREW,
                password_hash="x",
                created_at=utcnow(),
            )
            for n in ("chen", "wang")
        ]
        session.add_all([meter, *people])
    yield made
    engine.dispose()


def _device(session: Session) -> Device:
    return session.scalars(select(Device)).one()


def _user(session: Session, name: str) -> User:
    return session.scalars(select(User).where(User.username == name)).one()


def condition(rule_key: str = "baseload", severity: Severity = Severity.HIGH) -> AlarmCondition:
    """A condition as the rules engine reports it."""
    return AlarmCondition(
        rule_key=rule_key,
        rule_name="Baseload",
        severity=severity,
        quantity="power_kw",
        unit="kW",
        threshold=40.0,
        value=55.5,
        since=utcnow() - timedelta(minutes=5),
        message="baseload 55.5 kW above 40 kW",
    )


def raise_one(factory: sessionmaker[Session], cond: AlarmCondition | None = None) -> int | None:
    """Raise an alarm, returning its id (None when suppressed)."""
    with transaction(factory) as session:
        alarm = maintenance.raise_alarm(
            session, device=_device(session), condition=cond or condition(), actor=ACTOR
        )
        return alarm.id if alarm else None


# --- SLA in business hours ---


def tpe(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    """A Taipei wall-clock time."""
    return datetime(year, month, day, hour, minute, tzinfo=TAIPEI)


@pytest.mark.parametrize(
    ("opened", "priority", "due"),
    [
        # Thu 2026-10-08 16:30; Fri 10-09 is National Day (observed), then the weekend.
        (tpe(2026, 10, 8, 16, 30), TicketPriority.URGENT, tpe(2026, 10, 12, 11, 30)),
        (tpe(2026, 10, 8, 16, 30), TicketPriority.HIGH, tpe(2026, 10, 12, 16, 30)),
        (tpe(2026, 10, 8, 16, 30), TicketPriority.NORMAL, tpe(2026, 10, 14, 16, 30)),
        # Before opening on a Friday: the clock starts at 08:30.
        (tpe(2026, 10, 2, 7, 0), TicketPriority.URGENT, tpe(2026, 10, 2, 12, 30)),
        # Wed 2027-02-03 15:00; Lunar New Year closes Thu 02-04 to Wed 02-10.
        (tpe(2027, 2, 3, 15, 0), TicketPriority.URGENT, tpe(2027, 2, 11, 10, 0)),
        (tpe(2027, 2, 3, 15, 0), TicketPriority.LOW, tpe(2027, 2, 24, 15, 0)),
        # Saturday evening opening: Monday 08:30 + 4 h.
        (tpe(2026, 11, 7, 20, 0), TicketPriority.URGENT, tpe(2026, 11, 9, 12, 30)),
    ],
)
def test_sla_due_in_business_hours(opened: datetime, priority: TicketPriority, due: datetime) -> None:
    assert maintenance.sla_due_at(opened, priority) == due.astimezone(UTC)


def test_sla_table_is_configurable() -> None:
    opened = datetime(2026, 10, 5, 9, 0, tzinfo=TAIPEI)
    table = {TicketPriority.NORMAL: 30}
    assert maintenance.sla_due_at(opened, TicketPriority.NORMAL, table=table) == opened + timedelta(
        minutes=30
    )


# --- alarm lifecycle ---


def test_lifecycle_raise_ack_clear_close_is_audited_and_queued(factory: sessionmaker[Session]) -> None:
    alarm_id = raise_one(factory)
    assert alarm_id is not None
    with transaction(factory) as session:
        alarm = session.get(Alarm, alarm_id)
        assert alarm is not None
        assert alarm.lifecycle == "raised"
        with pytest.raises(ConflictError):
            maintenance.close_alarm(session, alarm=alarm, actor="user:fiona")
        maintenance.acknowledge_alarm(session, alarm=alarm, actor="user:fiona")
        assert alarm.lifecycle == "acknowledged"
        maintenance.clear_alarm(session, alarm=alarm, actor=ACTOR)
        assert alarm.lifecycle == "cleared"
        maintenance.close_alarm(session, alarm=alarm, actor="user:fiona")
        assert (alarm.lifecycle, alarm.closed_by) == ("closed", "user:fiona")
    with factory() as session:
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.entity == "alarm").order_by(AuditEntry.id)
        ).all()
        events = session.scalars(select(AlarmEventOutbox.transition).order_by(AlarmEventOutbox.id)).all()
    assert actions == ["raise", "acknowledge", "clear", "close"]
    assert events == ["raise", "acknowledge", "clear", "close"]


def test_shelving_suppresses_raise_until_it_ends(factory: sessionmaker[Session]) -> None:
    alarm_id = raise_one(factory)
    with transaction(factory) as session:
        alarm = session.get(Alarm, alarm_id)
        assert alarm is not None
        maintenance.clear_alarm(session, alarm=alarm, actor=ACTOR)
        shelf = maintenance.shelve_alarm(
            session,
            alarm=alarm,
            until=utcnow() + timedelta(hours=2),
            reason="chiller overhaul",
            actor="user:fiona",
        )
        shelf_id = shelf.id
    assert raise_one(factory) is None  # shelved: nothing created
    with factory() as session:
        assert len(session.scalars(select(Alarm)).all()) == 1
    with transaction(factory) as session:
        shelf_row = session.get(AlarmShelf, shelf_id)
        assert shelf_row is not None
        maintenance.unshelve(session, shelf=shelf_row, actor="user:fiona")
    assert raise_one(factory) is not None


def test_escalation_bumps_level_once_per_period_and_is_audited(factory: sessionmaker[Session]) -> None:
    alarm_id = raise_one(factory, condition(severity=Severity.CRITICAL))
    with factory() as session:
        alarm = session.get(Alarm, alarm_id)
        assert alarm is not None
        raised = alarm.raised_at
    minutes = {Severity.CRITICAL: 15}
    with transaction(factory) as session:
        assert (
            maintenance.escalate_overdue(
                session, now=raised + timedelta(minutes=14), after_minutes_by_severity=minutes
            )
            == []
        )
        assert (
            len(
                maintenance.escalate_overdue(
                    session, now=raised + timedelta(minutes=15), after_minutes_by_severity=minutes
                )
            )
            == 1
        )
        assert (
            maintenance.escalate_overdue(
                session, now=raised + timedelta(minutes=20), after_minutes_by_severity=minutes
            )
            == []
        )
        escalated = maintenance.escalate_overdue(
            session, now=raised + timedelta(minutes=31), after_minutes_by_severity=minutes
        )
        assert [a.escalation_level for a in escalated] == [2]
    with transaction(factory) as session:
        alarm = session.get(Alarm, alarm_id)
        assert alarm is not None
        maintenance.acknowledge_alarm(session, alarm=alarm, actor="user:chen")
        assert (
            maintenance.escalate_overdue(
                session, now=raised + timedelta(hours=5), after_minutes_by_severity=minutes
            )
            == []
        )
    with factory() as session:
        entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "escalate")).all()
    assert [(e.actor, e.after["escalation_level"] if e.after else None) for e in entries] == [
        ("system:escalation", 1),
        ("system:escalation", 2),
    ]


def test_clear_before_work_flags_ticket_and_crew_start_acknowledges(factory: sessionmaker[Session]) -> None:
    first = raise_one(factory)
    second = raise_one(factory, condition(rule_key="overload"))
    with transaction(factory) as session:
        alarm = session.get(Alarm, first)
        assert alarm is not None
        maintenance.clear_alarm(session, alarm=alarm, actor=ACTOR)
        ticket = session.scalars(select(Ticket).where(Ticket.alarm_id == first)).one()
        assert (ticket.status, ticket.needs_confirmation) == (TicketStatus.OPEN, True)
        other = session.scalars(select(Ticket).where(Ticket.alarm_id == second)).one()
        maintenance.assign_ticket(
            session, ticket=other, assignee_id=_user(session, "chen").id, actor="user:fiona"
        )
        maintenance.change_ticket_status(
            session, ticket=other, to=TicketStatus.IN_PROGRESS, actor="user:chen"
        )
        assert other.alarm is not None
        assert other.alarm.acknowledged_by == "user:chen"
        assert other.due_at is not None


def test_auto_assign_only_when_exactly_one_crew_matches(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as session:
        building = session.scalars(select(Building)).one()
        chen = _user(session, "chen")
        session.add(
            Crew(name="Sparks", trades=["electrical"], is_active=True, members=[chen], buildings=[building])
        )
        session.add(Crew(name="Pipes", trades=["plumbing"], is_active=True, buildings=[building]))
    alarm_id = raise_one(factory)  # power_kw -> electrical
    with factory() as session:
        ticket = session.scalars(select(Ticket).where(Ticket.alarm_id == alarm_id)).one()
        sparks = session.scalars(select(Crew).where(Crew.name == "Sparks")).one()
        assert (ticket.trade, ticket.crew_id, ticket.status) == (
            Trade.ELECTRICAL,
            sparks.id,
            TicketStatus.ASSIGNED,
        )
        assert maintenance.crew_ids_of(session, user_id=_user(session, "chen").id) == {sparks.id}
    with transaction(factory) as session:
        building = session.scalars(select(Building)).one()
        session.add(Crew(name="Sparks 2", trades=["electrical"], is_active=True, buildings=[building]))
    other = raise_one(factory, condition(rule_key="overload"))
    with factory() as session:
        ticket = session.scalars(select(Ticket).where(Ticket.alarm_id == other)).one()
        assert (ticket.crew_id, ticket.status) == (None, TicketStatus.OPEN)  # two match: a person decides


def test_notes_sum_time_spent(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as session:
        ticket = maintenance.open_request_ticket(
            session,
            title="Leak",
            description="",
            priority=TicketPriority.NORMAL,
            device=None,
            actor="user:sam",
        )
        maintenance.add_note(
            session, ticket=ticket, author="user:chen", text="found it", time_spent_minutes=25
        )
        maintenance.add_note(session, ticket=ticket, author="user:chen", text="fixed", time_spent_minutes=50)
        assert maintenance.time_spent_minutes(session, ticket_id=ticket.id) == 75


def test_rrule_generation_is_idempotent(factory: sessionmaker[Session]) -> None:
    dtstart = datetime(2026, 11, 2, 9, 0, tzinfo=TAIPEI)  # a Monday
    with transaction(factory) as session:
        schedule = MaintenanceSchedule(
            title="Check chiller filters",
            rrule="FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0",
            dtstart=dtstart,
            device_id=_device(session).id,
            trade=Trade.HVAC,
            priority=TicketPriority.LOW,
            next_due_at=maintenance.first_due("FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0", dtstart=dtstart),
            created_by="user:fiona",
        )
        session.add(schedule)
    now = datetime(2026, 11, 9, 10, 0, tzinfo=TAIPEI)  # second Monday, after 09:00
    with transaction(factory) as session:
        created = maintenance.generate_due_jobs(session, now=now)
        assert [(t.source, t.scheduled_for) for t in created] == [
            (TicketSource.SCHEDULE, datetime(2026, 11, 9, 9, 0, tzinfo=TAIPEI).astimezone(UTC))
        ]
    with transaction(factory) as session:
        assert maintenance.generate_due_jobs(session, now=now) == []
        schedule_row = session.scalars(select(MaintenanceSchedule)).one()
        assert schedule_row.next_due_at == datetime(2026, 11, 16, 9, 0, tzinfo=TAIPEI).astimezone(UTC)
        assert len(maintenance.generate_due_jobs(session, now=now + timedelta(days=7))) == 1
    with factory() as session:
        assert len(session.scalars(select(Ticket)).all()) == 2


def _planned(session: Session, *, start: datetime, shelve_minutes: int | None) -> MaintenanceSchedule:
    """A one-off planned job on the meter (a meter swap) at `start`."""
    rrule = "FREQ=DAILY;COUNT=1"
    schedule = MaintenanceSchedule(
        title="Replace main meter",
        rrule=rrule,
        dtstart=start,
        device_id=_device(session).id,
        trade=Trade.ELECTRICAL,
        next_due_at=maintenance.first_due(rrule, dtstart=start),
        shelve_minutes=shelve_minutes,
        created_by="user:fiona",
    )
    session.add(schedule)
    return schedule


def test_planned_work_shelves_every_rule_of_its_device_while_it_lasts(factory: sessionmaker[Session]) -> None:
    """A planned meter swap: the meter goes silent, then its register restarts from zero. Neither the
    offline nor the register alarm is a fault while the swap lasts (issue 15, class 6)."""
    start = utcnow().replace(microsecond=0) - timedelta(minutes=1)
    with transaction(factory) as session:
        _planned(session, start=start, shelve_minutes=90)
    with transaction(factory) as session:
        (ticket,) = maintenance.generate_due_jobs(session, now=utcnow())
        shelf = session.scalars(select(AlarmShelf)).one()
        assert (shelf.rule_key, shelf.until) == ("*", start + timedelta(minutes=90))
        assert f"ticket #{ticket.id}" in shelf.reason
    assert raise_one(factory, condition("device-offline")) is None
    assert raise_one(factory, condition("energy-register-went-back")) is None
    with transaction(factory) as session:
        maintenance.unshelve(session, shelf=session.scalars(select(AlarmShelf)).one(), actor="user:fiona")
    assert raise_one(factory, condition("device-offline")) is not None


def test_planned_work_without_a_window_or_long_past_shelves_nothing(factory: sessionmaker[Session]) -> None:
    now = utcnow().replace(microsecond=0)
    with transaction(factory) as session:
        _planned(session, start=now + timedelta(minutes=5), shelve_minutes=None)
        _planned(session, start=now + timedelta(minutes=5), shelve_minutes=60)
    with transaction(factory) as session:  # caught up three hours late: the window is over
        assert len(maintenance.generate_due_jobs(session, now=now + timedelta(hours=3))) == 2
        assert session.scalars(select(AlarmShelf)).all() == []


def test_invalid_rrule_names_the_field() -> None:
    with pytest.raises(InvalidInputError) as err:
        maintenance.parse_rrule("FREQ=SOMETIMES", dtstart=utcnow())
    assert err.value.loc == ("body", "rrule")


# --- events to InfluxDB ---


class BrokenSink:
    """A sink whose store is down."""

    def write(self, events: Sequence[AlarmEvent]) -> None:
        """Fail like an unreachable InfluxDB."""
        raise ConnectionError("influx down")


def test_alarm_events_reach_influxdb_and_survive_an_outage(
    factory: sessionmaker[Session], influx: servers.InfluxServer
) -> None:
    alarm_id = raise_one(factory)
    with transaction(factory) as session:
        alarm = session.get(Alarm, alarm_id)
        assert alarm is not None
        maintenance.acknowledge_alarm(session, alarm=alarm, actor="user:fiona")
    failures = maintenance.EVENT_WRITE_FAILURES._value.get()
    assert maintenance.drain_alarm_events(factory, sink=BrokenSink()) == 0
    assert maintenance.EVENT_WRITE_FAILURES._value.get() == failures + 1
    database = f"events_{abs(hash(str(factory.kw.get('bind')))) % 10**8}"
    influx.create_database(database)
    store = InfluxStore(influx.url, database)
    try:
        assert maintenance.drain_alarm_events(factory, sink=InfluxAlarmEventSink(store)) == 2
        assert maintenance.drain_alarm_events(factory, sink=InfluxAlarmEventSink(store)) == 0
        series = store.query(
            'SELECT "message", "value", "transition" FROM "alarm_events" WHERE "rule" = \'baseload\' '
            "AND \"building\" = 'YH-A' AND \"device\" = 'yh-a-main' AND \"severity\" = 'high'"
        )
    finally:
        store.close()
    rows = series[0]["values"]
    assert [r[3] for r in rows] == ["raise", "acknowledge"]
    assert rows[0][1] == "baseload 55.5 kW above 40 kW"
    assert rows[0][2] == 55.5
    with factory() as session:
        pending = session.scalars(
            select(AlarmEventOutbox).where(AlarmEventOutbox.published_at.is_(None))
        ).all()
        attempts = session.scalars(select(AlarmEventOutbox.attempts)).all()
    assert pending == []
    assert attempts == [1, 1]


def test_maintenance_cycle_escalates_and_generates(factory: sessionmaker[Session]) -> None:
    alarm_id = raise_one(factory, condition(severity=Severity.CRITICAL))
    report = maintenance.run_maintenance_cycle(factory, now=utcnow() + timedelta(minutes=16))
    assert report.escalated == [alarm_id]
    assert report.jobs == []
