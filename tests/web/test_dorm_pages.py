"""The dormitory board in a phone-sized headless Chromium: occupants, a room blocked by its repair ticket,
cleaning and inspection state, and the month's energy from the room's meter. Saves docs/img/dorms-board.png."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path

from playwright.sync_api import Browser, expect
from pydantic import SecretStr

import cityhall.models  # noqa: F401 - registers every table on Base.metadata
from api.main import create_app
from cityhall.accounts import create_user
from cityhall.contract import Reading
from cityhall.db import Base, make_engine, make_sessionmaker, transaction, utcnow
from cityhall.models import (
    Audience,
    Building,
    BuildingUse,
    CleaningStatus,
    Device,
    DeviceKind,
    Floor,
    ResourceKind,
    Role,
    Site,
    Space,
    SpaceKind,
    TicketPriority,
    Trade,
    VenueResource,
)
from cityhall.settings import Settings
from cityhall.timeseries.sql import SqlStore
from cityhall.venues import dorms
from cityhall.venues.rules import TAIPEI
from tests.web.conftest import ServedApp

PASSWORD = "dorm board 1234"
DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"


def test_dorm_board_shows_each_room(browser: Browser, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'dorms.db'}"
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    factory = make_sessionmaker(engine)
    today = utcnow().astimezone(TAIPEI).date()
    with transaction(factory) as session:
        create_user(
            session,
            username="fiona",
            full_name="Fiona",
            role=Role.FACILITY_MANAGER,
            password=PASSWORD,
            actor="t",
        )
        wu = create_user(
            session, username="wu", full_name="Wu Mei-ling", role=Role.STAFF, password=PASSWORD, actor="t"
        )
        site = Site(code="MZ", name="Minzu", address="Tainan")
        dorm = Building(
            site=site,
            code="MZ-DORM",
            name="Staff Dormitory",
            use=BuildingUse.DORMITORY,
            gross_floor_area_m2=900.0,
        )
        floor = Floor(building=dorm, level=1, name="1F", area_m2=500.0)
        space = Space(
            floor=floor,
            code="MZ-DORM-1F-R101",
            name="Room 101",
            kind=SpaceKind.DORMITORY_ROOM,
            area_m2=24.0,
            capacity_people=2,
        )
        session.add_all(
            [
                site,
                space,
                Device(
                    space=space,
                    code="MZ-DORM-EM-101",
                    name="Room 101 meter",
                    kind=DeviceKind.ELECTRICITY_METER,
                    quantities=["energy_kwh"],
                ),
            ]
        )
        session.flush()
        rooms = []
        for code, name, space_id in (("MZ-R101", "Room 101", space.id), ("MZ-R102", "Room 102", None)):
            room = VenueResource(
                code=code,
                name=name,
                kind=ResourceKind.DORM_ROOM,
                audience=Audience.INTERNAL,
                capacity_people=2,
                equipment=[],
                opening_hours=None,
                space_id=space_id,
                closed_on_holidays=False,
            )
            session.add(room)
            session.flush()
            rooms.append(room)
        dorms.assign(
            session,
            room=rooms[0],
            user_id=wu.id,
            starts_on=today - timedelta(days=30),
            ends_on=None,
            actor="t",
        )
        repair = dorms.report_repair(
            session,
            room=rooms[1],
            title="Air conditioner leaks",
            description="",
            priority=TicketPriority.NORMAL,
            trade=Trade.HVAC,
            actor="user:fiona",
        )
        plan = dorms.create_plan(
            session,
            title="Daily clean",
            room=None,
            rrule="FREQ=DAILY;BYHOUR=9",
            dtstart=datetime.combine(today, time(9), TAIPEI) - timedelta(days=1),
            actor="t",
        )
        dorms.generate_cleaning_tasks(session, now=utcnow())
        task = dorms.latest_task(session, rooms[0].id)
        assert task is not None
        assert plan.id == task.plan_id
        dorms.move_task(session, task=task, to=CleaningStatus.CLEANING, actor="user:wu")
        dorms.move_task(session, task=task, to=CleaningStatus.CLEAN, actor="user:wu")
        dorms.inspect_room(
            session,
            room=rooms[0],
            inspector="user:fiona",
            items=[{"item": i, "ok": True} for i in dorms.DEFAULT_CHECKLIST],
            task=task,
        )
        ticket_id = repair.ticket_id
    month_start = datetime.combine(today.replace(day=1), time(0, 5), TAIPEI).astimezone(UTC)
    store = SqlStore(engine)
    store.write(
        [
            Reading(device="MZ-DORM-EM-101", quantity="energy_kwh", ts=month_start, value=1000.0),
            Reading(
                device="MZ-DORM-EM-101",
                quantity="energy_kwh",
                ts=utcnow() - timedelta(minutes=1),
                value=1042.5,
            ),
        ],
        {},
    )
    settings = Settings(_env_file=None, database_url=url, jwt_secret=SecretStr("dorm-board-" + "k" * 40))
    with ServedApp(create_app(settings, factory)) as app:
        page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
        page.goto(app.url + "/dorms/board")
        page.get_by_label("User name").fill("fiona")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.locator("#occupancy")).to_contain_text("1 of 4 beds taken")
        first = page.locator("[data-room='MZ-R101']")
        expect(first.locator(".beds")).to_have_text("1 / 2 beds taken")
        expect(first).to_contain_text("Wu Mei-ling since")
        expect(first.locator(".cleaning")).to_have_text("Cleaning: inspected")
        expect(first.locator(".inspection")).to_have_text("Last inspection: passed")
        expect(first.locator(".use")).to_contain_text("42.5 kWh")
        second = page.locator("[data-room='MZ-R102']")
        expect(second.locator(".repair")).to_have_text(f"Under repair: ticket #{ticket_id}")
        expect(second.locator(".cleaning")).to_have_text("Cleaning: dirty")
        expect(second.locator(".use")).to_contain_text("no electricity meter")
        page.screenshot(path=str(DOCS_IMG / "dorms-board.png"), full_page=True)
        page.close()
    engine.dispose()
