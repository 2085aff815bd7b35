"""`cityhall demo`: every process in one, with embedded defaults, so a laptop shows the whole data path."""

from __future__ import annotations

import secrets
import signal
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path

import structlog
import uvicorn
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cityhall.accounts import create_user
from cityhall.alarm_health import last_full_week
from cityhall.assets import DEVICE_QUANTITIES, import_assets, load_yaml, seed_path
from cityhall.broker import EmbeddedBroker
from cityhall.db import make_engine, make_sessionmaker, transaction
from cityhall.demo_alarms import seed_alarm_history
from cityhall.energy.daily import REGISTERS
from cityhall.energy.periods import TAIPEI
from cityhall.energy.register import MeterRegister, configured_register
from cityhall.housekeeping import Housekeeping
from cityhall.migrate import upgrade
from cityhall.models import ReportKind, Role, User
from cityhall.reports.build import main_meter_register
from cityhall.reports.period import period_before
from cityhall.security import hash_password
from cityhall.settings import Settings
from cityhall.timeseries.sql import SqlStore
from simulators.devices import SimulatedDevice
from simulators.fleet import records_from_register, simulated
from simulators.modes import run_backfill
from simulators.publisher import DEFAULT_SEED
from simulators.scenario import Scenario, ScenarioSpec, plan

log = structlog.get_logger(__name__)
DEMO_ADMIN = "admin"
# Injected fault: the dormitory water heaters and air-conditioning stuck on, +200 kW from 5 s after start.
DEMO_FAULT = "demand_step:MZ-DORM-EM-MAIN:200:5"
# The history the demo writes before it goes live, so last month's committee report has real numbers and last
# year's comparison: hourly for the year before (the report adds it up by day), then last month and this one
# at the meters' own 15 minutes (peak demand is a 15-minute figure). Measured on 2 cores: docs/operations.md.
HISTORY_STEP = timedelta(hours=1)
RECENT_STEP = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class DemoHistory:
    """What the demo backfilled: which meters, from when, how many readings, in how long."""

    meters: tuple[str, ...]
    since: datetime
    until: datetime
    readings: int
    seconds: float


@dataclass
class DemoStack:
    """The demo's running parts, so tests can start it, look at it and stop it."""

    settings: Settings
    session_factory: sessionmaker[Session]
    admin_password: str
    history: DemoHistory | None = None
    alarm_week: str = ""  # the ISO week of the alarm history the demo seeded
    pages: list[DemoPage] = field(default_factory=list)
    stops: list[Callable[[], None]] = field(default_factory=list)
    threads: list[threading.Thread] = field(default_factory=list)

    def stop(self) -> None:
        """Stop every part, newest first."""
        for stop in reversed(self.stops):
            try:
                stop()
            except Exception:  # shutting down: log and keep stopping the rest
                log.exception("demo_stop_failed")
        for thread in self.threads:
            thread.join(timeout=15)


def _ensure_admin(factory: sessionmaker[Session]) -> str:
    """Create the demo admin, or give it a new password; return the password to print."""
    password = secrets.token_urlsafe(12)
    with transaction(factory) as session:
        admin = session.scalars(select(User).where(User.username == DEMO_ADMIN)).one_or_none()
        if admin is None:
            create_user(
                session,
                username=DEMO_ADMIN,
                full_name="Demo administrator",
                role=Role.ADMIN,
                password=password,
                actor="system:demo",
            )
        else:
            admin.password_hash = hash_password(password)
    return password


def _seed_venues(session: Session) -> None:
    """A public hall, an internal meeting room and the four dormitory rooms, each on its seed space, and a
    weekly cleaning plan; skipped when they exist (a demo restarted without --fresh)."""
    # Imported here like the other demo-only pieces; the seed spaces come from cityhall/seed/tainan.yaml.
    from cityhall.models import Audience, ResourceKind, Space, VenueResource  # noqa: PLC0415
    from cityhall.venues.dorms import create_plan  # noqa: PLC0415

    if session.scalar(select(VenueResource.id).limit(1)) is not None:
        return
    space = {s.code: s for s in session.scalars(select(Space))}
    week = {day: ["08:00", "22:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat")}
    venues = [
        ("YH-HALL", "YH-A-2F-HALL", ResourceKind.HALL, Audience.PUBLIC, 1200, True, 30),
        ("YH-MR2", "YH-A-2F-MR-01", ResourceKind.MEETING_ROOM, Audience.INTERNAL, 0, False, 10),
    ]
    for code, space_code, kind, audience, fee, approval, buffer in venues:
        room = space[space_code]
        session.add(
            VenueResource(
                code=code, name=room.name, kind=kind, audience=audience, space_id=room.id,
                capacity_people=room.capacity_people or 1, equipment=["projector", "microphones"],
                fee_per_hour_twd=fee, opening_hours=week, buffer_minutes=buffer, requires_approval=approval,
            )
        )  # fmt: skip
    for number in range(101, 105):
        room = space[f"MZ-DORM-1F-R{number}"]
        session.add(
            VenueResource(
                code=f"MZ-DORM-{number}", name=room.name, kind=ResourceKind.DORM_ROOM,
                audience=Audience.INTERNAL, space_id=room.id, capacity_people=room.capacity_people or 1,
                equipment=[], opening_hours=None, closed_on_holidays=False,
            )
        )  # fmt: skip
    session.flush()
    create_plan(
        session,
        title="Dormitory rooms: weekly cleaning",
        room=None,
        rrule="FREQ=WEEKLY;BYDAY=MO,TH;BYHOUR=10;BYMINUTE=0",
        dtstart=datetime(2026, 1, 1, 2, tzinfo=UTC),
        actor="system:demo",
    )


def _seed_conservation(session: Session, register: MeterRegister, now: datetime) -> None:
    """This year's four-area targets for three departments, their paper entries so far, a held committee
    meeting with its minutes and action items; skipped when targets exist."""
    from cityhall.conservation.committee import (  # noqa: PLC0415
        ActionValues,
        MeetingValues,
        add_action,
        create_meeting,
        record_minutes,
    )
    from cityhall.conservation.targets import EntryValues, TargetValues, create_target, post_entry  # noqa: PLC0415
    from cityhall.energy.periods import TAIPEI  # noqa: PLC0415
    from cityhall.models import ConservationArea, ConservationTarget  # noqa: PLC0415

    if session.scalar(select(ConservationTarget.id).limit(1)) is not None:
        return
    local = now.astimezone(TAIPEI)
    actor = "system:demo"
    plans = {  # department: (paper reams a year, electricity kWh a year)
        "SEC": (1_200.0, 310_000.0),
        "CIVIL": (300.0, 62_000.0),
        "EDU": (420.0, 48_000.0),
    }
    for department, (paper, electricity) in plans.items():
        for area, amount, unit in (
            (ConservationArea.PAPER, paper, "ream"),
            (ConservationArea.ELECTRICITY, electricity, "kWh"),
        ):
            create_target(
                session, register=register, department_code=department, year=local.year, area=area,
                values=TargetValues(amount, unit, amount * 1.05, local.year - 1), actor=actor,
            )  # fmt: skip
        for month in range(1, local.month):  # months that have ended: a little under or over plan
            used = paper / 12 * (0.9 + 0.03 * (month % 5))
            entry = EntryValues(
                department,
                ConservationArea.PAPER,
                date(local.year, month, 1),
                used,
                "ream",
                "stationery store",
            )
            post_entry(session, register=register, values=entry, actor=actor)
    held = MeetingValues(
        "Energy-conservation committee, quarterly meeting",
        now - timedelta(days=10),
        "Municipal Affairs Meeting Room (市政會議室)",
        ("Secretariat", "Civil Affairs Bureau", "Education Bureau"),
    )
    meeting = create_meeting(session, values=held, actor=actor)
    record_minutes(
        session, meeting=meeting, actor=actor,
        minutes="Reviewed the four areas year to date. Paper use is on plan; the Secretariat will pilot "
        "double-sided printing by default. Lighting survey of the car parks to be reported next meeting.",
    )  # fmt: skip
    for description, days in (
        ("Set double-sided printing as the default on all Secretariat printers", -3),
        ("Survey car-park lighting and propose LED retrofits", 30),
    ):
        due = (local + timedelta(days=days)).date()
        add_action(
            session,
            meeting=meeting,
            values=ActionValues(description, due, owner_name="General Affairs"),
            actor=actor,
        )


def history_window(now: datetime) -> tuple[datetime, datetime]:
    """(since, recent) of the demo's history: hourly from the day before last month's first day a year
    earlier (so that day has a reading before it), then every 15 minutes from last month's first day
    (Asia/Taipei) on a grid that ends exactly at `now`: the last reading is `now`, so no rule finds a meter
    silent in the seconds before the live simulator takes over."""
    last_month = period_before(ReportKind.MONTHLY, now)
    since = last_month.last_year().start - timedelta(days=1)
    return since, last_month.start + (now - last_month.start) % RECENT_STEP


def _backfill_history(
    settings: Settings, store: SqlStore, devices: list[SimulatedDevice], now: datetime
) -> DemoHistory | None:
    """Write the main meters' history straight into the store with `cityhall simulate --mode backfill`'s
    driver (the same simulated devices then go live, so every register runs on without a jump). The main
    meters are enough: a building's consumption is theirs, a department's is its share of buildings. None
    when the store has those meters' readings already (a demo restarted with --keep): each register then
    carries on from its last stored reading."""
    mains = set(main_meter_register(configured_register(settings)).meters)
    meters = [d for d in devices if d.code in mains]
    since, recent = history_window(now)
    if _resume_registers(store, devices, since=since, until=now):
        return None
    started = time.perf_counter()
    readings = 0
    # The second part ends one step after `now`, so its last reading is at `now`.
    for start, end, step in ((since, recent, HISTORY_STEP), (recent, now + RECENT_STEP, RECENT_STEP)):
        spec = ScenarioSpec(
            name="demo-history",
            description="The demo's main meters, from a year before last month to now",
            seed=DEFAULT_SEED,  # the live simulator's weather, so the weather runs on too
            start=start,
            duration=end - start,
            step=step,
        )
        stats = run_backfill(plan(Scenario(spec, Path("demo")), meters), store, show_progress=False)
        readings += stats.readings
        log.info(
            "demo_history_written", since=start.isoformat(), until=end.isoformat(), readings=stats.readings
        )
    history = DemoHistory(tuple(sorted(mains)), since, now, readings, time.perf_counter() - started)
    log.info("demo_history_done", meters=len(meters), readings=readings, seconds=round(history.seconds, 1))
    return history


def _resume_registers(
    store: SqlStore, devices: list[SimulatedDevice], *, since: datetime, until: datetime
) -> bool:
    """Set each simulated register to its last stored reading in [since, until); True if any was stored."""
    found = False
    for quantity in REGISTERS:
        having = [d for d in devices if quantity in DEVICE_QUANTITIES[d.kind]]
        last = store.last_readings(
            quantity=quantity, devices=[d.code for d in having], since=since, until=until
        )
        for device in having:
            if device.code in last:
                device.last_ts, value = last[device.code]
                setattr(device, quantity, value)
                found = True
    return found


def _seed_training(session: Session, now: datetime) -> None:
    """A safety course with a session next week, so the training pages and the attendance sheet have
    something to show; skipped when a course exists."""
    from cityhall.models import Course, CourseCategory, Delivery  # noqa: PLC0415
    from cityhall.training.catalogue import create_course, create_session  # noqa: PLC0415

    if session.scalar(select(Course.id).limit(1)) is not None:
        return
    course = create_course(
        session,
        code="FIRE-101",
        title="Fire safety and evacuation (消防安全與疏散)",
        category=CourseCategory.SAFETY,
        delivery=Delivery.ON_SITE,
        actor="system:demo",
    )
    session.flush()
    start = datetime.combine(now.astimezone(TAIPEI).date() + timedelta(days=7), dtime(14), tzinfo=TAIPEI)
    create_session(
        session,
        course=course,
        starts_at=start,
        ends_at=start + timedelta(hours=2),
        place="Yonghua Civic Center, 2F multipurpose hall",
        capacity=40,
        instructor="Tainan City Fire Bureau",
        credit_hours=None,
        actor="system:demo",
    )


@dataclass(frozen=True, slots=True)
class DemoPage:
    """A page people use, as the banner lists it (English and Chinese, as the pages name themselves)."""

    label: str
    path: str
    sign_in: str  # who may open it: "anyone", or how to sign in


def demo_pages(factory: sessionmaker[Session]) -> list[DemoPage]:
    """Every page of the app, with the demo's own venue and training session where a page needs one
    (tests/e2e/test_demo.py checks this against the app's page routes)."""
    from cityhall.models import TrainingSession, VenueResource  # noqa: PLC0415

    with factory() as session:
        hall = session.scalars(select(VenueResource.id).where(VenueResource.code == "YH-HALL")).one()
        lesson = session.scalars(select(TrainingSession.id).order_by(TrainingSession.id).limit(1)).one()
    console = "sign in on the page"
    venues = "sign in at /venues/sign-in"
    return [
        DemoPage("Operations console 主控台", "/", console),
        DemoPage("Crew jobs 維修工單", "/crew", console),
        DemoPage("Alarm health 警報健康週報", "/alarm-health", console),
        DemoPage("Venues 場地借用", "/venues/calendar", "anyone"),
        DemoPage("Venue week 場地週曆", f"/venues/calendar/{hall}", "anyone"),
        DemoPage("Venue application 場地申請", f"/venues/calendar/{hall}/apply", "anyone"),
        DemoPage("Staff sign-in 同仁登入", "/venues/sign-in", "anyone"),
        DemoPage("Book a room 會議室預約", "/venues/book", venues),
        DemoPage("Venue approvals 場地審核", "/venues/queue", venues),
        DemoPage("Dormitories 宿舍看板", "/dorms/board", venues),
        DemoPage("My training 我的學習時數", "/training", console),
        DemoPage("Department training 單位學習時數", "/training/department", console),
        DemoPage("Attendance sheet 簽到表", f"/training/sessions/{lesson}/sheet", console),
        DemoPage("API docs API 文件", "/docs", "anyone"),
        DemoPage("API reference (ReDoc)", "/redoc", "anyone"),
    ]


def banner(stack: DemoStack, base: str) -> str:
    """What the demo prints when it is up: every page, the API's entry points, where things are."""
    settings = stack.settings
    width = max(len(base + p.path) for p in stack.pages)  # URLs are ASCII: they line up, Chinese may not
    pages = "\n".join(
        f"    {(base + p.path).ljust(width)}  {p.label}"
        + ("" if p.sign_in == "anyone" else f" ({p.sign_in})")
        for p in stack.pages
    )
    last_month = period_before(ReportKind.MONTHLY, datetime.now(UTC)).label
    history = stack.history
    backfilled = (
        f"  History        {len(history.meters)} main meters, {history.since.astimezone(TAIPEI):%Y-%m-%d} "
        f"to now: {history.readings:,} readings written in {history.seconds:.1f} s\n"
        if history is not None
        else "  History        kept from the last run (--keep)\n"
    )
    return (
        "\nCityHall Ops demo is running (Ctrl-C to stop)\n"
        f"  Pages 頁面\n{pages}\n"
        f"  Committee reports 節能委員會報告 (sign in first: POST {base}/auth/token)\n"
        f"    stored       GET {base}/reports   (the schedule stores {last_month} within a minute)\n"
        f'    generate     POST {base}/reports  {{"kind": "monthly", "period": "{last_month}", '
        '"replace": true}\n'
        f"    files        {base}/reports/<id>.pdf  .html  .xlsx\n"
        f"  Tickets (API)  {base}/tickets   Alarms {base}/alarms\n"
        f"  Alarm health   {base}/alarm-health: {stack.alarm_week}, the alarm history the demo seeded "
        f"(GET {base}/alarms/health)\n"
        f"  Health         {base}/health     Metrics {base}/metrics\n"
        f"  MQTT broker    mqtt://{settings.mqtt_host}:{settings.mqtt_port} (embedded)\n"
        f"  Database       {settings.database_url}\n"
        f"{backfilled}"
        f"  Admin sign-in  user '{DEMO_ADMIN}', password '{stack.admin_password}'\n"
        f"  Injected fault {DEMO_FAULT} -> an alarm and a ticket within a minute\n"
    )


def start_demo(
    *,
    data_dir: Path,
    api_port: int,
    fresh: bool = True,
    publish_interval_s: float = 5.0,
    rules_interval_s: float = 5.0,
    faults: tuple[str, ...] = (DEMO_FAULT,),
) -> DemoStack:
    """Start broker, collector, rules and simulator in threads, with a year of the main meters' history
    written first; the caller serves the API."""
    # Imported here: each pulls in its process's dependencies, which the other sub-commands do not need.
    from cityhall.compose import rules_engines  # noqa: PLC0415
    from collector.service import Collector  # noqa: PLC0415
    from rules.repository import RuleBook  # noqa: PLC0415
    from simulators.publisher import Fault, Publisher  # noqa: PLC0415

    data_dir.mkdir(parents=True, exist_ok=True)
    db_path = data_dir / "demo.db"
    if fresh:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db_path}{suffix}").unlink(missing_ok=True)

    broker = EmbeddedBroker()
    broker.start()
    settings = Settings(
        demo=True,
        data_dir=data_dir,
        database_url=f"sqlite:///{db_path}",
        mqtt_host=broker.host,
        mqtt_port=broker.port,
        mqtt_protocol="3.1.1",
        influx_url="",
        api_port=api_port,
        rules_interval_seconds=rules_interval_s,
        jwt_secret=SecretStr(secrets.token_urlsafe(48)),  # a fresh key each run: old demo tokens stop working
    )
    engine = make_engine(settings.database_url)
    upgrade(engine)
    factory = make_sessionmaker(engine)
    with transaction(factory) as session:
        summary = import_assets(session, load_yaml(seed_path()), actor="system:demo")
    log.info("demo_assets_imported", summary=str(summary))
    with transaction(factory) as session:
        _seed_venues(session)
        # The register the API reads too (configured_register caches it): the seed, in the demo.
        _seed_conservation(session, configured_register(settings), datetime.now(UTC))
        _seed_training(session, datetime.now(UTC))
        # Last week's alarms, so the alarm-health report has a week to assess (docs/alarm-health.md).
        alarm_week = last_full_week(datetime.now(UTC))
        seeded = seed_alarm_history(session, week_start=alarm_week.since)
    log.info("demo_alarm_history", week=alarm_week.week, alarms=seeded)
    store = SqlStore(engine)
    with factory() as session:
        devices = simulated(records_from_register(session), seed=DEFAULT_SEED)
    history = _backfill_history(settings, store, devices, datetime.now(UTC))
    stack = DemoStack(
        settings=settings,
        session_factory=factory,
        admin_password=_ensure_admin(factory),
        history=history,
        pages=demo_pages(factory),
        alarm_week=alarm_week.week or "",
    )
    stack.stops.append(broker.stop)

    collector = Collector(settings, store=store, session_factory=factory)
    collector.start()
    stack.stops.append(collector.stop)

    runner, live = rules_engines(settings, factory, RuleBook(factory, settings.rules_file), store)
    if live is not None:
        live.start()
        stack.stops.append(live.stop)
    stack.threads.append(threading.Thread(target=runner.run_forever, name="rules", daemon=True))
    stack.stops.append(runner.stop)

    housekeeping = Housekeeping(settings, factory, interval_s=rules_interval_s)
    stack.threads.append(threading.Thread(target=housekeeping.run_forever, name="housekeeping", daemon=True))
    stack.stops.append(housekeeping.stop)

    publisher = Publisher(
        settings,
        session_factory=factory,
        interval_s=publish_interval_s,
        faults=[Fault.parse(f) for f in faults],
        devices=devices,  # the backfilled devices: their registers run on from the history
    )
    stack.threads.append(threading.Thread(target=publisher.run, name="simulator", daemon=True))
    stack.stops.append(publisher.stop)
    collector.wait_connected(10)
    for thread in stack.threads:
        thread.start()
    return stack


def run_demo(*, data_dir: Path, listener: socket.socket, fresh: bool, echo: Callable[[str], None]) -> None:
    """Run the demo until Ctrl-C: all parts in threads, the API in the foreground on `listener`, a socket
    already bound to a port of 127.0.0.1."""
    from api.main import create_app  # noqa: PLC0415 - the API's dependencies load only when serving

    api_port = listener.getsockname()[1]

    echo("Starting the CityHall Ops demo: writing a year of the main meters' history first ...")
    stack = start_demo(data_dir=data_dir, api_port=api_port, fresh=fresh)
    echo(banner(stack, f"http://127.0.0.1:{api_port}"))
    app = create_app(stack.settings, stack.session_factory)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    # uvicorn shuts down on SIGINT or SIGTERM, then raises the signal again for the handler it found.
    # SIGTERM's default handler would end the process on the spot, parts still running; as Ctrl-C it stops
    # them below.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        server.run(sockets=[listener])
    except KeyboardInterrupt:
        pass  # uvicorn re-raises Ctrl-C after its shutdown; for the demo it is the normal way to stop
    finally:
        stack.stop()
        echo("CityHall Ops demo stopped.")
