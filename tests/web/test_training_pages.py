"""The training pages in Debian's Chromium: my training (hours, certificates, enrolling), the department
dashboard (who is behind, exports) and the attendance sheet on a tablet. Screenshots go to docs/img."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.main import create_app
from cityhall.accounts import create_user
from cityhall.db import make_engine, make_sessionmaker, transaction
from cityhall.migrate import upgrade
from cityhall.models import (
    Attendance,
    CourseCategory,
    Delivery,
    Enrolment,
    EnrolmentStatus,
    Role,
    TrainingDuty,
)
from cityhall.settings import Settings
from cityhall.training import attendance, catalogue
from tests.web.conftest import ServedApp

PASSWORD = "training pages 12"
DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"
ACTOR = "test"


@dataclass(frozen=True, slots=True)
class World:
    """The served app, its database and the ids a test needs."""

    app: ServedApp
    factory: sessionmaker[Session]
    today_session: int
    upcoming_session: int
    users: dict[str, int]


def _attend(session: Session, sid: int, text: str) -> None:
    row = catalogue.get_session(session, sid, lock=True)
    report = attendance.record_lines(
        session, row=row, lines=attendance.parse_csv(text), source="csv", actor=ACTOR
    )
    assert not report.errors


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    url = f"sqlite:///{tmp_path / 'training.db'}"
    engine = make_engine(url)
    upgrade(engine)
    factory = make_sessionmaker(engine)
    year = datetime.now(UTC).year
    with transaction(factory) as session:
        people = {
            "lin": ("Lin Mei-hua", "general-affairs", date(2014, 2, 1), TrainingDuty.DEPARTMENT_MANAGER),
            "chang": ("Chang Wei", "general-affairs", date(2016, 8, 1), TrainingDuty.MEMBER),
            "huang": ("Huang Ya-ting", "general-affairs", date(year, 7, 1), TrainingDuty.MEMBER),
            "tsai": ("Tsai Chih-hao", "procurement", date(2019, 3, 1), TrainingDuty.MEMBER),
        }
        users: dict[str, int] = {}
        for name, (full, dept, joined, duty) in people.items():
            user = create_user(
                session,
                username=name,
                full_name=full,
                role=Role.STAFF,
                password=PASSWORD,
                email=f"{name}@tainan.example",
                actor=ACTOR,
            )
            users[name] = user.id
            catalogue.set_profile(
                session,
                user_id=user.id,
                department_code=dept,
                joined_on=joined,
                left_on=None,
                duty=duty,
                actor=ACTOR,
            )

        def course(code: str, title: str, category: CourseCategory, delivery: Delivery, **kw: object) -> int:
            return catalogue.create_course(
                session,
                code=code,
                title=title,
                category=category,
                delivery=delivery,
                actor=ACTOR,
                **kw,  # type: ignore[arg-type]
            ).id

        fire = course(
            "fire-safety", "Fire safety and evacuation", CourseCategory.SAFETY, Delivery.ON_SITE,
            issues_certificate=True, certificate_valid_months=24,
        )  # fmt: skip
        records = course(
            "records-visit", "Records management site visit", CourseCategory.SITE_VISIT, Delivery.ON_SITE
        )
        gpa = course(
            "gpa-basic", "Government Procurement Act (basic)", CourseCategory.PROCUREMENT_BASIC, Delivery.BLENDED,
            digital_share_pct=25, issues_certificate=True, certificate_valid_months=36,
        )  # fmt: skip

        def sess(course_id: int, starts: datetime, hours: int, place: str, capacity: int = 30) -> int:
            return catalogue.create_session(
                session,
                course=catalogue.get_course(session, course_id),
                starts_at=starts,
                ends_at=starts + timedelta(hours=hours),
                place=place,
                capacity=capacity,
                instructor="Tainan City Fire Bureau",
                credit_hours=None,
                actor=ACTOR,
            ).id

        spring = sess(fire, datetime(year, 3, 12, 1, tzinfo=UTC), 6, "Yonghua Civic Center 3F")
        _attend(session, spring, "username,hours\nlin,6\nchang,6\ntsai,6\n")
        visit = sess(records, datetime(year, 5, 20, 1, tzinfo=UTC), 8, "National Archives, Taipei")
        _attend(session, visit, "username,hours\nlin,8\nchang,4\n")
        law = sess(gpa, datetime(year, 6, 3, 1, tzinfo=UTC), 8, "Procurement training room")
        _attend(session, law, "username,hours\ntsai,8\nlin,8\n")
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        today_session = sess(fire, now - timedelta(hours=1), 3, "Yonghua Civic Center B1 hall")
        upcoming = sess(records, now + timedelta(days=9), 4, "Tainan City Archives", capacity=1)
    settings = Settings(database_url=url, jwt_secret=SecretStr("training-pages-" + "k" * 40))
    with ServedApp(create_app(settings, factory)) as app:
        yield World(app, factory, today_session, upcoming, users)
    engine.dispose()


def sign_in(page: Page, url: str, username: str) -> None:
    page.goto(url)
    page.get_by_label("User name", exact=True).fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_my_training_shows_hours_certificates_and_enrols(browser: Browser, world: World) -> None:
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    sign_in(page, world.app.url + "/training", "chang")
    target = page.locator("#target-on_the_job")
    expect(target.locator(".done")).to_have_text("10.0")  # 6 h fire safety + 4 h of the site visit
    expect(target.locator(".goal")).to_have_text("40.0")
    expect(page.locator("#target-digital .goal")).to_have_text("5.0")
    expect(page.locator("#certificates tbody tr")).to_have_count(1)
    expect(page.locator("#certificates")).to_contain_text("Fire safety and evacuation")
    row = page.locator(f"#sessions tr[data-session='{world.upcoming_session}']")
    row.get_by_role("button", name="Enrol").click()
    expect(row).to_contain_text("Enrolled")
    DOCS_IMG.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(DOCS_IMG / "training-my.png"), full_page=True)

    other = browser.new_page(viewport={"width": 1100, "height": 900})
    sign_in(other, world.app.url + "/training", "huang")  # the one seat is taken: the waiting list
    queued = other.locator(f"#sessions tr[data-session='{world.upcoming_session}']")
    queued.get_by_role("button", name="Join waiting list").click()
    expect(queued).to_contain_text("Waiting list #1")


def test_department_dashboard_shows_who_is_behind_and_exports(
    browser: Browser, world: World, tmp_path: Path
) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    sign_in(page, world.app.url + "/training/department", "lin")
    expect(page.locator("#departments tbody tr")).to_have_count(1)  # a manager sees their department
    expect(page.locator("#departments tr[data-department='general-affairs'] td").nth(1)).to_have_text("3")
    expect(page.locator("#people tbody tr")).to_have_count(3)
    page.locator("#only-behind").check()
    behind = page.locator("#people tbody tr")
    expect(behind.first).to_have_class("behind")
    page.screenshot(path=str(DOCS_IMG / "training-department.png"), full_page=True)
    with page.expect_download() as download:
        page.get_by_role("button", name="Export CSV").click()
    saved = tmp_path / "hours.csv"
    download.value.save_as(saved)
    text = saved.read_text(encoding="utf-8-sig")
    assert text.splitlines()[0].startswith("year,department,username")
    assert "tsai" not in text  # procurement is not lin's department


def test_attendance_sheet_on_a_tablet(browser: Browser, world: World) -> None:
    page = browser.new_page(viewport={"width": 820, "height": 1180}, is_mobile=True, has_touch=True)
    # chang and huang enrolled in today's session before it started
    with transaction(world.factory) as session:
        for name in ("chang", "huang"):
            session.add(
                Enrolment(
                    session_id=world.today_session,
                    user_id=world.users[name],
                    status=EnrolmentStatus.ENROLLED,
                    requested_at=datetime.now(UTC) - timedelta(days=3),
                )
            )
    sign_in(page, f"{world.app.url}/training/sessions/{world.today_session}/sheet", "lin")
    expect(page.locator("#roster tbody tr")).to_have_count(2)
    page.get_by_label("chang present").check()
    expect(page.get_by_label("chang hours")).to_have_value("3")
    page.get_by_label("huang present").check()
    page.get_by_label("huang hours").fill("2.5")
    page.get_by_label("Walk-in by login").fill("nobody")
    page.get_by_role("button", name="Add").click()
    page.get_by_label("nobody present").check()
    page.get_by_role("button", name="Save attendance").click()
    expect(page.locator("#sheet-result")).to_have_text("Saved: 2 new, 0 corrected, 0 unchanged, 1 rejected.")
    expect(page.locator("#sheet-errors")).to_contain_text("nobody: no active staff member 'nobody'")
    page.screenshot(path=str(DOCS_IMG / "training-sheet.png"), full_page=True)
    page.get_by_role("button", name="Save attendance").click()  # saving again changes nothing
    expect(page.locator("#sheet-result")).to_have_text("Saved: 0 new, 0 corrected, 2 unchanged, 1 rejected.")
    with world.factory() as session:
        hours = {
            a.user_id: a.attended_s
            for a in session.scalars(select(Attendance).where(Attendance.session_id == world.today_session))
        }
    assert hours == {world.users["chang"]: 3 * 3600, world.users["huang"]: 9000}
