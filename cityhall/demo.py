"""`cityhall demo`: every process in one, with embedded defaults, so a laptop shows the whole data path."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import structlog
import uvicorn
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cityhall.accounts import create_user
from cityhall.assets import import_assets, load_yaml, seed_path
from cityhall.broker import EmbeddedBroker
from cityhall.db import make_engine, make_sessionmaker, transaction
from cityhall.energy.register import MeterRegister, configured_register
from cityhall.housekeeping import Housekeeping
from cityhall.migrate import upgrade
from cityhall.models import Role, User
from cityhall.security import hash_password
from cityhall.settings import Settings
from cityhall.timeseries.sql import SqlStore

log = structlog.get_logger(__name__)
DEMO_ADMIN = "admin"
# Injected fault: the dormitory water heaters and air-conditioning stuck on, +200 kW from 5 s after start.
DEMO_FAULT = "demand_step:MZ-DORM-EM-MAIN:200:5"


@dataclass
class DemoStack:
    """The demo's running parts, so tests can start it, look at it and stop it."""

    settings: Settings
    session_factory: sessionmaker[Session]
    admin_password: str
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


def start_demo(
    *,
    data_dir: Path,
    api_port: int,
    fresh: bool = True,
    publish_interval_s: float = 5.0,
    rules_interval_s: float = 5.0,
    faults: tuple[str, ...] = (DEMO_FAULT,),
) -> DemoStack:
    """Start broker, collector, rules and simulator in threads; the caller serves the API."""
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
    stack = DemoStack(settings=settings, session_factory=factory, admin_password=_ensure_admin(factory))
    stack.stops.append(broker.stop)

    store = SqlStore(engine)
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
    )
    stack.threads.append(threading.Thread(target=publisher.run, name="simulator", daemon=True))
    stack.stops.append(publisher.stop)
    collector.wait_connected(10)
    for thread in stack.threads:
        thread.start()
    return stack


def run_demo(*, data_dir: Path, api_port: int, fresh: bool, echo: Callable[[str], None]) -> None:
    """Run the demo until Ctrl-C: all parts in threads, the API on 127.0.0.1 in the foreground."""
    from api.main import create_app  # noqa: PLC0415 - the API's dependencies load only when serving

    stack = start_demo(data_dir=data_dir, api_port=api_port, fresh=fresh)
    base = f"http://127.0.0.1:{api_port}"
    echo(
        "\nCityHall Ops demo is running (Ctrl-C to stop)\n"
        f"  Web pages      {base}/   Venues {base}/venues/calendar   Dormitories {base}/dorms/board\n"
        f"  API docs       {base}/docs\n"
        f"  Tickets (API)  {base}/tickets   (sign in first: POST {base}/auth/token)\n"
        f"  Health         {base}/health     Metrics {base}/metrics\n"
        f"  MQTT broker    mqtt://{stack.settings.mqtt_host}:{stack.settings.mqtt_port} (embedded)\n"
        f"  Database       {stack.settings.database_url}\n"
        f"  Admin sign-in  user '{DEMO_ADMIN}', password '{stack.admin_password}'\n"
        f"  Injected fault {DEMO_FAULT} -> an alarm and a ticket within a minute\n"
    )
    app = create_app(stack.settings, stack.session_factory)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=api_port, log_level="warning"))
    try:
        server.run()
    except KeyboardInterrupt:
        pass  # uvicorn re-raises Ctrl-C after its shutdown; for the demo it is the normal way to stop
    finally:
        stack.stop()
        echo("CityHall Ops demo stopped.")
