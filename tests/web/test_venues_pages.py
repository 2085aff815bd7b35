"""The venue pages in a phone-sized headless Chromium: a citizen finds a free hour in the week calendar and
applies without an account; staff sign in and book; a venue manager works the approval queue. The
screenshots used by docs/venues.md are saved on the way."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

import cityhall.models  # noqa: F401 - registers every table on Base.metadata
from api.main import create_app
from cityhall.accounts import create_user
from cityhall.db import Base, make_engine, make_sessionmaker, transaction, utcnow
from cityhall.models import (
    Audience,
    Booking,
    BookingStatus,
    ResourceKind,
    Role,
    VenueApplicant,
    VenueResource,
)
from cityhall.settings import Settings
from tests.venues.conftest import OFFICE_HOURS, at, working_day
from tests.web.conftest import ServedApp

PASSWORD = "venue pages 12"
DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"
PHONE: ViewportSize = {"width": 390, "height": 844}


@dataclass
class VenueSite:
    """The served app, its database and the ids the tests need."""

    app: ServedApp
    factory: sessionmaker[Session]
    hall: int
    day: date


@pytest.fixture
def site(tmp_path: Path) -> Iterator[VenueSite]:
    url = f"sqlite:///{tmp_path / 'venues.db'}"
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    factory = make_sessionmaker(engine)
    day = working_day()
    with transaction(factory) as session:
        for username, role in (("fiona", Role.FACILITY_MANAGER), ("sam", Role.STAFF)):
            create_user(
                session,
                username=username,
                full_name=username.title(),
                role=role,
                password=PASSWORD,
                actor="t",
            )
        hall = VenueResource(
            code="YH-HALL",
            name="Yonghua Hall",
            kind=ResourceKind.HALL,
            audience=Audience.PUBLIC,
            capacity_people=120,
            equipment=["projector", "microphones"],
            fee_per_hour_twd=1200,
            opening_hours=OFFICE_HOURS,
            buffer_minutes=30,
            requires_approval=True,
        )
        session.add(hall)
        session.add(
            VenueResource(
                code="YH-MR1",
                name="Meeting Room 1",
                kind=ResourceKind.MEETING_ROOM,
                audience=Audience.INTERNAL,
                capacity_people=12,
                equipment=[],
                opening_hours=OFFICE_HOURS,
                requires_approval=False,
            )
        )
        session.flush()
        # Someone else's confirmed booking at 14:00-16:00, so the calendar shows taken hours.
        applicant = VenueApplicant(
            name="Chen",
            email="chen@example.tw",
            phone="0911222333",
            key_sha256="c" * 64,
            feed_key_sha256="d" * 64,
        )
        session.add(applicant)
        session.flush()
        session.add(
            Booking(
                resource_id=hall.id,
                applicant_id=applicant.id,
                status=BookingStatus.CONFIRMED,
                title="Dance class",
                attendees=30,
                starts_at=at(day, 14).astimezone(UTC),
                ends_at=at(day, 16).astimezone(UTC),
                block_until=at(day, 16, 30).astimezone(UTC),
                created_by="t",
                created_at=utcnow() - timedelta(days=1),
            )
        )
        hall_id = hall.id
    settings = Settings(_env_file=None, database_url=url, jwt_secret=SecretStr("venue-pages-" + "k" * 40))
    with ServedApp(create_app(settings, factory)) as app:
        yield VenueSite(app, factory, hall_id, day)
    engine.dispose()


def sign_in(page: Page, username: str) -> None:
    """Fill the staff sign-in form the page redirected to."""
    expect(page.get_by_role("heading", name="Staff sign-in")).to_be_visible()
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_citizen_applies_from_the_week_calendar(browser: Browser, site: VenueSite) -> None:
    page = browser.new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    page.goto(site.app.url + "/venues/calendar")
    expect(page.get_by_role("link", name="Meeting Room 1")).to_have_count(0)  # internal rooms are not listed
    page.get_by_role("link", name="Yonghua Hall").click()
    page.get_by_role("link", name="Next week →").click()
    page.goto(f"{site.app.url}/venues/calendar/{site.hall}?week={site.day.isoformat()}")
    day = page.locator(f"[data-day='{site.day.isoformat()}']")
    expect(day.locator("[data-start='14:00']")).to_have_attribute("data-state", "booked")
    expect(day.locator("[data-start='16:00']")).to_have_attribute(
        "data-state", "setup"
    )  # the 30-minute buffer
    expect(day.locator("[data-start='10:00']")).to_have_attribute("data-state", "free")
    expect(page.locator(".day").nth(6)).to_contain_text("Closed")  # Sundays
    page.screenshot(path=str(DOCS_IMG / "venues-calendar.png"), full_page=False)

    day.get_by_role("link", name=f"Apply for {site.day.strftime('%A %Y-%m-%d')} 10:00").click()
    expect(page.get_by_label("Date")).to_have_value(site.day.isoformat())
    expect(page.get_by_label("Start")).to_have_value("10:00")
    page.get_by_label("End").fill("12:00")
    page.get_by_label("Purpose of the event").fill("Anping community choir rehearsal")
    page.get_by_label("Number of people").fill("200")  # more than the hall holds
    page.get_by_label("Name").fill("Lin Mei-hua")
    page.get_by_label("E-mail").fill("meihua@example.tw")
    page.get_by_label("Phone").fill("0912-345-678")
    page.get_by_label("Organisation (optional)").fill("Anping Choir")
    page.get_by_role("button", name="Send application").click()
    expect(page.get_by_role("alert")).to_contain_text("People: 200 attendees, but the room holds 120")
    expect(page.get_by_label("Number of people")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Name")).to_have_value("Lin Mei-hua")  # the form comes back filled in

    page.get_by_label("Number of people").fill("40")
    page.screenshot(path=str(DOCS_IMG / "venues-apply.png"), full_page=True)
    page.get_by_role("button", name="Send application").click()
    expect(page.get_by_role("status")).to_contain_text("awaiting approval")
    key = page.locator("#applicant-key").inner_text()
    assert len(key) >= 30
    expect(page.locator("#feed-url")).to_contain_text("/venues/feeds/")
    page.screenshot(path=str(DOCS_IMG / "venues-applied.png"), full_page=True)

    with site.factory() as session:
        booking = session.scalars(
            select(Booking).where(Booking.title == "Anping community choir rehearsal")
        ).one()
        assert booking.status is BookingStatus.PENDING
        assert booking.starts_at == at(site.day, 10).astimezone(UTC)
        assert booking.ends_at == at(site.day, 12).astimezone(UTC)
        assert booking.applicant is not None
        assert booking.applicant.email == "meihua@example.tw"
    page.goto(f"{site.app.url}/venues/calendar/{site.hall}?week={site.day.isoformat()}")
    expect(day.locator("[data-start='11:00']")).to_have_attribute("data-state", "requested")
    expect(page.locator("body")).not_to_contain_text("Lin Mei-hua")  # no personal data in public
    page.close()


def test_staff_book_and_the_manager_decides(browser: Browser, site: VenueSite) -> None:
    with transaction(site.factory) as session:
        applicant = VenueApplicant(
            name="Lin Mei-hua",
            email="meihua@example.tw",
            phone="0912345678",
            organisation="Anping Choir",
            key_sha256="e" * 64,
            feed_key_sha256="f" * 64,
        )
        session.add(applicant)
        session.flush()
        pending = Booking(
            resource_id=site.hall,
            applicant_id=applicant.id,
            status=BookingStatus.PENDING,
            title="Choir concert",
            attendees=80,
            starts_at=at(site.day, 18).astimezone(UTC),
            ends_at=at(site.day, 20).astimezone(UTC),
            block_until=at(site.day, 20, 30).astimezone(UTC),
            fee_twd=2400,
            created_by="citizen",
            created_at=utcnow() - timedelta(hours=5),
        )
        session.add(pending)
        session.flush()
        pending_id = pending.id

    staff = browser.new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    staff.goto(site.app.url + "/venues/book")
    sign_in(staff, "sam")
    staff.get_by_label("Room or venue").select_option(label="Yonghua Hall (120 people)")
    staff.get_by_label("Meeting or event").fill("Budget hearing")
    staff.get_by_label("Date").fill(site.day.isoformat())
    staff.get_by_label("Start").fill("15:00")  # overlaps the dance class
    staff.get_by_label("End").fill("17:00")
    staff.get_by_label("Number of people").fill("50")
    staff.get_by_role("button", name="Book").click()
    expect(staff.get_by_role("alert")).to_contain_text("overlaps booking")
    staff.get_by_label("Start").fill("10:00")
    staff.get_by_label("End").fill("12:00")
    staff.get_by_role("button", name="Book").click()
    expect(staff.get_by_role("status")).to_contain_text("Booked: Yonghua Hall")
    expect(staff.locator("#my-bookings")).to_contain_text("Budget hearing")
    staff.screenshot(path=str(DOCS_IMG / "venues-book.png"), full_page=True)
    staff.goto(site.app.url + "/venues/queue")
    expect(staff.locator("body")).to_contain_text("may not open this page")  # staff are not managers
    staff.close()

    manager = browser.new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    manager.goto(site.app.url + "/venues/queue")
    sign_in(manager, "fiona")
    expect(manager.locator("#pending-count")).to_have_text("1")
    card = manager.locator(f"[data-booking='{pending_id}']")
    expect(card).to_contain_text("Lin Mei-hua")
    expect(card).to_contain_text("meihua@example.tw")
    expect(card).to_contain_text("waiting 5.0 hours")
    manager.screenshot(path=str(DOCS_IMG / "venues-queue.png"), full_page=True)
    card.get_by_role("button", name=f"Reject #{pending_id}").click()  # without a reason
    expect(manager.get_by_role("alert")).to_contain_text("give the applicant a reason")
    manager.locator(f"[data-booking='{pending_id}']").get_by_role(
        "button", name=f"Approve #{pending_id}"
    ).click()
    expect(manager.get_by_role("status")).to_contain_text("approved")
    expect(manager.locator("#pending-count")).to_have_text("0")
    with site.factory() as session:
        decided = session.get_one(Booking, pending_id)
        assert decided.status is BookingStatus.CONFIRMED
        assert decided.decided_by == "user:fiona"
    manager.close()
