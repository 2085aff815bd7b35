"""The web console in a real browser: sign in, see the active alarm and its ticket, in Taipei time; the links to
every module's pages; the committee's stored reports, downloaded with the user's token."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect
from pydantic import SecretStr
from sqlalchemy import select

from api.main import create_app
from cityhall.accounts import create_user
from cityhall.assets import import_assets, load_yaml, seed_path
from cityhall.db import make_engine, make_sessionmaker, transaction
from cityhall.maintenance import AlarmCondition, raise_alarm
from cityhall.migrate import upgrade
from cityhall.models import Device, ReportKind, ReportStatus, Role, Severity, StoredReport
from cityhall.reports.period import report_period
from cityhall.settings import Settings
from tests.web.conftest import ServedApp

PASSWORD = "console password 1"
REPORT_PDF = b"%PDF-1.4 the October report"
REPORT_KWH = {"unit": "kWh", "current": 468841.0, "last_year": 504852.3, "change_pct": -7.1}
# Every module's pages, linked from the console (the demo's banner lists the rest: tests/e2e/test_demo.py).
MODULE_LINKS = (
    "/crew",
    "/alarm-health",
    "/venues/calendar",
    "/venues/book",
    "/venues/queue",
    "/dorms/board",
    "/training",
    "/training/department",
    "#reports",
    "/docs",
)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ServedApp]:
    url = f"sqlite:///{tmp_path / 'console.db'}"
    engine = make_engine(url)
    upgrade(engine)
    factory = make_sessionmaker(engine)
    with transaction(factory) as session:
        import_assets(session, load_yaml(seed_path()), actor="test")
        create_user(
            session,
            username="fm",
            full_name="Lin Facility",
            role=Role.FACILITY_MANAGER,
            password=PASSWORD,
            actor="test",
        )
        meter = session.scalars(select(Device).where(Device.code == "MZ-DORM-EM-MAIN")).one()
        since = datetime(2026, 11, 26, 13, 5, tzinfo=UTC)  # 21:05 in Taipei
        raise_alarm(
            session,
            device=meter,
            condition=AlarmCondition(
                rule_key="dorm-demand-high",
                rule_name="Dormitory demand above contracted capacity",
                severity=Severity.HIGH,
                quantity="power_kw",
                unit="kW",
                threshold=150.0,
                value=264.5,
                since=since,
                message="power_kw = 264.5 kW, above the limit of 150 kW",
            ),
            actor="system:rules",
        )
        october = report_period(ReportKind.MONTHLY, "2026-10")
        session.add(
            StoredReport(
                kind=ReportKind.MONTHLY,
                period=october.label,
                period_start=october.start,
                period_end=october.end,
                status=ReportStatus.READY,
                generated_at=datetime(2026, 11, 1, 0, 5, tzinfo=UTC),
                generated_by="system:schedule",
                summary={"areas": {"electricity": REPORT_KWH}},
                pdf=REPORT_PDF,
                pdf_bytes=len(REPORT_PDF),
                html=b"<p>October</p>",
                html_bytes=14,
                xlsx=b"PK",
                xlsx_bytes=2,
            )
        )
    settings = Settings(database_url=url, jwt_secret=SecretStr("console-" + "k" * 40))
    with ServedApp(create_app(settings, factory)) as app:
        yield app
    engine.dispose()


def test_sign_in_and_see_alarm_and_ticket(browser: Browser, served: ServedApp, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.goto(served.url + "/")
    page.get_by_label("Password").fill("wrong password")
    page.get_by_label("User name").fill("fm")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#sign-in-error")).to_have_text("Wrong user name or password.")

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#who-name")).to_have_text("fm (facility_manager)")
    expect(page.locator("#n-alarms")).to_have_text("1")
    expect(page.locator("#n-tickets")).to_have_text("1")
    alarm_row = page.locator("#alarms tbody tr").first
    expect(alarm_row).to_contain_text("MZ-DORM-EM-MAIN")
    expect(alarm_row).to_contain_text("264.5 kW")
    expect(alarm_row).to_contain_text("150 kW")
    ticket_row = page.locator("#tickets tbody tr").first
    expect(ticket_row).to_contain_text("Dormitory demand above contracted capacity")
    expect(ticket_row).to_contain_text("high")
    page.screenshot(path=str(tmp_path / "console.png"), full_page=True)

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    page.close()


def test_static_files_and_unknown_asset(served: ServedApp) -> None:
    import httpx  # noqa: PLC0415

    assert "Sign in" in httpx.get(served.url + "/").text
    assert httpx.get(served.url + "/static/app.js").headers["content-type"].startswith("text/javascript")
    assert httpx.get(served.url + "/static/passwd").status_code == 404


def test_console_links_every_module_and_downloads_a_report(browser: Browser, served: ServedApp) -> None:
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.goto(served.url + "/")
    links = page.locator("nav.modules a")
    assert [links.nth(i).get_attribute("href") for i in range(links.count())] == list(MODULE_LINKS)
    expect(page.get_by_role("link", name="Dormitories")).to_contain_text("宿舍看板")  # English, then Chinese
    page.get_by_label("User name").fill("fm")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    row = page.locator("#report-list tbody tr").first
    expect(row).to_contain_text("2026-10")
    expect(row).to_contain_text("468,841 kWh")
    expect(row).to_contain_text("504,852 kWh")
    expect(row).to_contain_text("-7.1 %")
    with page.expect_download() as pending:
        row.get_by_role("button", name="PDF").click()
    download = pending.value
    assert download.suggested_filename == "committee-report-monthly-2026-10.pdf"
    assert Path(download.path()).read_bytes() == REPORT_PDF
    page.close()
