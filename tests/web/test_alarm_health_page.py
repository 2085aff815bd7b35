"""The weekly alarm-health report page in Debian's Chromium, on the demo's alarm history (cityhall/demo_alarms.py)
seeded into 2026-W49: the figures against the benchmarks, each site, the chart with the flood line, the bad
actors and acting on one (shelve, open the rule), the lists, week and site navigation. Saves
docs/img/alarm-health.png for docs/alarm-health.md.

The history's figures, worked out by hand from cityhall/demo_alarms.py:
- 69 alarms: Monday 7, Tuesday 10, Wednesday 35, Thursday 9, Friday 6, Saturday 1, Sunday 1 (9.86 a day);
  YH 34 (co2-high 10, lights 7, air-conditioning 5, baseline 5, too hot 3, spikes 3, flat line 1), MZ 35;
- Wednesday 14:00-14:10: 14 devices silent and a demand spike (15); 14:10-14:20: 12 more devices silent and
  the office too hot (13): one flood of 28 alarms over 2 of 1,008 intervals (0.2 %), peak 15;
- chattering: co2-high six times 25 s apart on Tuesday, four times 15 s apart on Thursday: 10 alarms;
  fleeting: those 10 (cleared after 10 s) and 3 temperature spikes (40 s): 13;
- stale: the dormitory leak (55.5 h) and the generator meter (54 h); shelves: 72 h and 8 h, 80 h in all;
- bad actors: co2-high on YH-A-2F-CS-03 first with 10 of 69 (14.49 %); the top 10 hold 39 (56.52 %);
- priorities: low 38, medium 30, high 1, critical 0.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from pydantic import SecretStr

from api.main import create_app
from cityhall.accounts import create_user
from cityhall.assets import import_assets, load_yaml, seed_path
from cityhall.db import make_engine, make_sessionmaker, transaction
from cityhall.demo_alarms import seed_alarm_history
from cityhall.energy.periods import TAIPEI
from cityhall.migrate import upgrade
from cityhall.models import Role
from cityhall.settings import Settings
from tests.web.conftest import ServedApp

PASSWORD = "alarm health page 1"
DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"
WEEK = "2026-W49"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ServedApp]:
    url = f"sqlite:///{tmp_path / 'health.db'}"
    engine = make_engine(url)
    upgrade(engine)
    factory = make_sessionmaker(engine)
    with transaction(factory) as session:
        import_assets(session, load_yaml(seed_path()), actor="test")
        for name, role in (("lin", Role.FACILITY_MANAGER), ("sam", Role.STAFF)):
            create_user(session, username=name, full_name=name, role=role, password=PASSWORD, actor="test")
        assert seed_alarm_history(session, week_start=datetime(2026, 11, 30, tzinfo=TAIPEI)) == 69
    settings = Settings(database_url=url, jwt_secret=SecretStr("alarm-health-" + "k" * 40))
    with ServedApp(create_app(settings, factory)) as app:
        yield app
    engine.dispose()


def sign_in(page: Page, url: str, username: str = "lin") -> None:
    page.goto(url)
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def figure(page: Page, key: str) -> str:
    return page.locator(f"#figures tr[data-key='{key}'] td.value").inner_text()


def test_the_weeks_report(browser: Browser, served: ServedApp) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    sign_in(page, f"{served.url}/alarm-health?week={WEEK}")
    total = page.locator("#figures tr[data-key='alarms_total'] td.value")
    expect(total).to_contain_text("69 則")
    expect(page.locator("#period-text")).to_contain_text("2026-W49：2026-11-30 至 2026-12-06（Asia/Taipei）")
    assert "9.86 則／日" in figure(page, "alarms_per_day_avg")
    assert "alarms/day" in figure(page, "alarms_per_day_avg")
    assert "35 則／日" in figure(page, "alarms_per_day_max")
    assert "15 則／10 分鐘" in figure(page, "alarms_per_10min_peak")
    assert figure(page, "flood_time_pct").startswith("0.2 %")
    assert "10 則" in figure(page, "chattering_alarms")
    assert "13 則" in figure(page, "fleeting_alarms")
    assert "80 小時" in figure(page, "shelved_h")
    assert "56.52 %" in figure(page, "top10_share_pct")
    peak = page.locator("#figures tr[data-key='alarms_per_10min_peak']")
    expect(peak).to_contain_text("未達 misses")
    expect(peak).to_contain_text("ANSI/ISA-18.2-2016 clause 16")
    expect(page.locator("#figures tr[data-key='alarms_per_10min_avg']")).to_contain_text("可接受 acceptable")

    sites = page.locator("#sites tbody tr")
    expect(sites).to_have_count(2)
    expect(page.locator("#sites tr[data-site='YH'] td").nth(1)).to_have_text("34")
    expect(page.locator("#sites tr[data-site='MZ'] td").nth(1)).to_have_text("35")

    first = page.locator("#bad-actors tbody tr").first
    expect(first).to_contain_text("Poor ventilation (CO2 high)")
    expect(first).to_contain_text("YH-A-2F-CS-03")
    expect(first.locator("td.share")).to_have_text("14.49 %")
    expect(first.locator("td.alarms")).to_have_text("10")
    expect(page.locator("#bad-actors tbody tr")).to_have_count(11)  # the top 10, and a line for the 30 more
    expect(page.locator("#bad-actors tbody tr").last).to_contain_text("另有 30 筆")  # 40 pairs in all

    flood = page.locator("#floods tbody tr")
    expect(flood).to_have_count(1)
    expect(flood).to_contain_text("2026/12/02 14:00")
    expect(flood.locator("td").nth(2)).to_have_text("28")
    expect(flood.locator("td").nth(3)).to_have_text("15")
    expect(page.locator("#chattering tbody tr")).to_have_count(1)
    expect(page.locator("#fleeting tbody tr")).to_have_count(13)
    expect(page.locator("#stale tbody tr")).to_have_count(2)
    expect(page.locator("#stale tbody tr").first).to_contain_text("55.5 小時 h")
    expect(page.locator("#shelves tbody tr")).to_have_count(2)
    expect(page.locator("#priorities tr[data-severity='low'] td").nth(1)).to_have_text("38")
    expect(page.locator("#priorities tr[data-severity='medium'] td").nth(1)).to_have_text("30")

    chart = page.locator("#chart")
    expect(chart.locator("rect.bar.flood")).to_have_count(2)
    expect(chart.locator("line.flood-line")).to_have_count(1)
    expect(chart.locator("text.flood-label")).to_have_text("警報氾濫 flood > 10")
    assert chart.locator("rect.bar").count() > 20
    DOCS_IMG.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(DOCS_IMG / "alarm-health.png"), full_page=True)
    page.close()


def test_weeks_and_sites_are_chosen_on_the_page(browser: Browser, served: ServedApp) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    sign_in(page, f"{served.url}/alarm-health?week={WEEK}")
    total = page.locator("#figures tr[data-key='alarms_total'] td.value")
    expect(total).to_contain_text("69 則")
    page.get_by_role("button", name="上一週 Previous week").click()
    expect(page.locator("#week")).to_have_value("2026-W48")
    expect(total).to_contain_text("0 則")
    expect(page.locator("#bad-actors tbody")).to_contain_text("本期沒有警報 No alarms in this period.")
    page.get_by_role("button", name="下一週 Next week").click()
    expect(page.locator("#week")).to_have_value(WEEK)
    expect(total).to_contain_text("69 則")
    page.get_by_label("場域 Site").select_option("MZ")
    expect(total).to_contain_text("35 則")
    expect(page.locator("#site-section")).to_be_hidden()
    assert "site=MZ" in page.url
    page.locator("#week").fill("2026-W53")
    page.locator("#week").dispatch_event("change")
    expect(page.locator("#period-text")).to_contain_text("2026-12-28 至 2027-01-03")
    page.close()


def test_acting_on_a_bad_actor(browser: Browser, served: ServedApp) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    sign_in(page, f"{served.url}/alarm-health?week={WEEK}")
    first = page.locator("#bad-actors tbody tr").first
    expect(first).to_contain_text("co2-high")
    first.get_by_role("button", name="規則 Rule").click()
    detail = page.locator("#bad-actors tr.rule-row")
    expect(detail).to_contain_text("此規則來自規則檔")  # the shipped rules file: tuned by editing it
    expect(detail.locator("pre.rule")).to_contain_text('"quantity": "co2_ppm"')

    first.get_by_role("button", name="擱置 Shelve").click()
    expect(page.locator("#shelve-pair")).to_contain_text("co2-high")
    page.get_by_label("原因 Reason").fill("Sensor to be recalibrated by the vendor")
    page.locator("#shelve-form").get_by_role("button", name="擱置 Shelve").click()
    expect(page.locator("#shelve-result")).to_contain_text("已擱置至")
    expect(page.locator("#bad-actors tbody tr").first).to_contain_text("已擱置至")
    expect(
        page.locator("#bad-actors tbody tr").nth(1).get_by_role("button", name="擱置 Shelve")
    ).to_be_visible()
    page.close()


def test_staff_are_told_they_may_not_read_alarms(browser: Browser, served: ServedApp) -> None:
    page = browser.new_page()
    sign_in(page, f"{served.url}/alarm-health", "sam")
    expect(page.locator("#page-error")).to_contain_text("role staff may not do this")
    page.close()
