"""The crew page on a phone-sized Chromium: my jobs only, accept, hold with a reason, resume, done with a note."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.main import create_app
from cityhall.accounts import create_user
from cityhall.assets import import_assets, load_yaml, seed_path
from cityhall.db import make_engine, make_sessionmaker, transaction
from cityhall.maintenance import AlarmCondition, assign_ticket, raise_alarm
from cityhall.migrate import upgrade
from cityhall.models import Device, Role, Severity, Ticket, TicketStatus
from cityhall.settings import Settings
from tests.web.conftest import ServedApp

PASSWORD = "crew password 12"


def _alarm_ticket(session: Session, device_code: str, rule_key: str, crew_id: int) -> int:
    device = session.scalars(select(Device).where(Device.code == device_code)).one()
    alarm = raise_alarm(
        session,
        device=device,
        condition=AlarmCondition(
            rule_key=rule_key,
            rule_name="Dormitory demand above contracted capacity",
            severity=Severity.HIGH,
            quantity="power_kw",
            unit="kW",
            threshold=150.0,
            value=264.5,
            since=datetime(2026, 11, 26, 13, 5, tzinfo=UTC),
            message="power_kw = 264.5 kW, above 150 kW",
        ),
        actor="system:rules",
    )
    assert alarm is not None
    ticket = session.scalars(select(Ticket).where(Ticket.alarm_id == alarm.id)).one()
    assign_ticket(session, ticket=ticket, assignee_id=crew_id, actor="user:fm")
    return ticket.id


@pytest.fixture
def crew_app(tmp_path: Path) -> Iterator[tuple[ServedApp, sessionmaker[Session], int]]:
    url = f"sqlite:///{tmp_path / 'crew.db'}"
    engine = make_engine(url)
    upgrade(engine)
    factory = make_sessionmaker(engine)
    with transaction(factory) as session:
        import_assets(session, load_yaml(seed_path()), actor="test")
        wu = create_user(
            session,
            username="wu",
            full_name="Wu Electrician",
            role=Role.MAINTENANCE_CREW,
            password=PASSWORD,
            actor="test",
        )
        lee = create_user(
            session,
            username="lee",
            full_name="Lee Plumber",
            role=Role.MAINTENANCE_CREW,
            password=PASSWORD,
            actor="test",
        )
        mine = _alarm_ticket(session, "MZ-DORM-EM-MAIN", "dorm-demand-high", wu.id)
        _alarm_ticket(session, "YH-A-EM-MAIN", "civic-center-demand-high", lee.id)
    settings = Settings(database_url=url, jwt_secret=SecretStr("crew-page-" + "k" * 40))
    with ServedApp(create_app(settings, factory)) as app:
        yield app, factory, mine
    engine.dispose()


def test_crew_member_works_a_job_from_a_phone(
    browser: Browser, crew_app: tuple[ServedApp, sessionmaker[Session], int], tmp_path: Path
) -> None:
    app, factory, ticket_id = crew_app
    page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page.goto(app.url + "/crew")
    page.get_by_label("User name").fill("wu")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    expect(page.locator("#job-count")).to_have_text("1 open job.")  # Lee's job is not shown
    job = page.locator(f"[data-ticket='{ticket_id}']")
    expect(job).to_contain_text("Dormitory demand above contracted capacity")
    expect(job.locator(".job-status")).to_have_text("assigned")

    job.get_by_role("button", name="Accept and start").click()
    expect(job.locator(".job-status")).to_have_text("in progress")

    job.get_by_role("button", name="Put on hold").click()
    job.get_by_label("Reason for the hold").fill("Waiting for Taipower to isolate the feeder")
    job.get_by_role("button", name="Confirm").click()
    expect(job.locator(".job-status")).to_have_text("on hold")
    expect(job.locator(".job-hold")).to_have_text("On hold: Waiting for Taipower to isolate the feeder")
    page.screenshot(path=str(tmp_path / "crew-on-hold.png"))

    job.get_by_role("button", name="Resume").click()
    job.get_by_role("button", name="Done").click()
    job.get_by_label("What was done").fill(
        "Water-heater contactor stuck closed; replaced it, load back to 45 kW"
    )
    job.get_by_role("button", name="Confirm").click()
    expect(page.locator("#job-count")).to_have_text("0 open jobs.")

    with factory() as session:
        ticket = session.get_one(Ticket, ticket_id)
        assert ticket.status is TicketStatus.DONE
        assert (
            ticket.resolution_note == "Water-heater contactor stuck closed; replaced it, load back to 45 kW"
        )
        assert ticket.closed_at is not None
    page.close()


def test_crew_page_explains_a_refused_move(
    browser: Browser, crew_app: tuple[ServedApp, sessionmaker[Session], int]
) -> None:
    """A hold without a reason is refused by the API; the page shows why instead of failing silently."""
    app, factory, ticket_id = crew_app
    with transaction(factory) as session:
        session.get_one(Ticket, ticket_id).status = TicketStatus.IN_PROGRESS
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(app.url + "/crew")
    page.get_by_label("User name").fill("wu")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    job = page.locator(f"[data-ticket='{ticket_id}']")
    job.get_by_role("button", name="Put on hold").click()
    job.get_by_label("Reason for the hold").fill("   ")
    # The textarea is `required`, but whitespace passes it: the API must refuse and the page must say so.
    job.get_by_role("button", name="Confirm").click()
    expect(page.locator("#job-error")).to_contain_text("reason")
    expect(job.locator(".job-status")).to_have_text("in progress")
    page.close()
