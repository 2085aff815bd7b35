"""The demo's embedded path: amqtt broker, SQLite, SQL reading store, simulator, collector, rules, API; and
every main job on it: committee reports from the backfilled history, every page, housekeeping."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import pytest
from fastapi import FastAPI, routing
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import select

from api.main import create_app
from cityhall.demo import DEMO_ADMIN, DemoStack, banner, start_demo
from cityhall.housekeeping import Housekeeping
from cityhall.models import DeliveryStatus, NotificationLog, ReportKind
from cityhall.reports.period import period_before
from cityhall.reports.schedule import SCHEDULE_ACTOR
from tests import servers
from tests.e2e.e2e_helpers import get_items, sign_in
from tests.waiting import PATIENCE_S, wait_for

pytestmark = pytest.mark.slow
DORM_METER = "MZ-DORM-EM-MAIN"


def test_demo_story_raises_and_clears(tmp_path: Path) -> None:
    # The shipped demo fault, but ending after 45 s so the alarm also clears.
    stack = start_demo(
        data_dir=tmp_path, api_port=servers.free_port(), faults=(f"demand_step:{DORM_METER}:200:5:45",)
    )
    try:
        with TestClient(create_app(stack.settings, stack.session_factory)) as client:
            headers = sign_in(client, DEMO_ADMIN, stack.admin_password)
            devices = client.get("/devices?limit=500", headers=headers).json()
            assert devices["total"] >= 60  # the seeded civic centers and dormitory
            # The conservation seed: targets, paper entered so far, a held meeting with an overdue action.
            progress = client.get("/conservation/progress", headers=headers).json()
            paper = {r["department"]: r for r in progress["items"] if r["area"] == "paper" and r["target"]}
            assert set(paper) == {"SEC", "CIVIL", "EDU"}
            assert all(r["unit"] == "ream" and r["metered"] == 0 for r in paper.values())
            overdue = client.get("/conservation/actions?overdue=true", headers=headers).json()
            assert [a["description"][:26] for a in overdue["items"]] == ["Set double-sided printing "]

            tickets = wait_for(
                lambda: get_items(client, "/tickets", headers),
                what="a ticket from the demo fault",
            )
            assert len(tickets) == 1
            assert tickets[0]["source"] == "rule"
            (alarm,) = get_items(client, "/alarms?state=active", headers)
            assert alarm["rule_key"] == "dorm-demand-high"
            assert alarm["trigger_value"] > 150

            wait_for(
                lambda: not get_items(client, "/alarms?state=active", headers),
                what="the alarm to clear after the fault ends",
            )
            assert client.get(f"/alarms/{alarm['id']}", headers=headers).json()["state"] == "cleared"
            assert len(get_items(client, "/tickets", headers)) == 1  # no second ticket
            assert get_items(client, "/dead-letters", headers) == []  # every simulated payload was valid
    finally:
        stack.stop()


def test_demo_command_shows_a_ticket_and_a_report(tmp_path: Path) -> None:
    port = servers.free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "cityhall", "demo", "--port", str(port), "--data-dir", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    banner = ""
    # Every request may be slow on a loaded machine; none may hang for ever.
    http = httpx.Client(timeout=PATIENCE_S)
    try:
        while "Injected fault" not in banner:
            line = proc.stdout.readline()
            assert line, f"demo exited early:\n{banner}"
            banner += line
        password = re.search(r"password '([^']+)'", banner)
        assert password, banner
        base = f"http://127.0.0.1:{port}"

        def api_up() -> bool:
            try:
                return http.get(f"{base}/health").status_code == 200
            except httpx.TransportError:
                return False  # uvicorn starts listening just after the banner

        wait_for(api_up, what="the API")
        token = http.post(f"{base}/auth/token", data={"username": DEMO_ADMIN, "password": password.group(1)})
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        tickets = wait_for(
            lambda: http.get(f"{base}/tickets", headers=headers).json()["items"],
            what="a ticket through the demo's API",
        )
        assert tickets[0]["title"].startswith("Dormitory demand above contracted capacity")
        assert re.search(r"History +13 main meters, .*: [\d,]+ readings written in [\d.]+ s", banner), banner
        for page in ("/crew", "/training", "/dorms/board", "/venues/calendar", "/docs"):
            assert f"{base}{page} " in banner
        # What a reviewer tries first: last month's report, as a PDF with numbers in it
        month = period_before(ReportKind.MONTHLY, datetime.now(UTC)).label
        body = {"kind": "monthly", "period": month, "replace": True}
        created = http.post(f"{base}/reports", json=body, headers=headers)
        assert created.status_code == 201, created.text
        kwh = created.json()["summary"]["areas"]["electricity"]["current"]
        pdf = http.get(f"{base}{created.json()['files']['pdf']}", headers=headers)
        text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
        assert f"{kwh:,.0f} kWh" in text
    finally:
        http.close()
        proc.send_signal(signal.SIGTERM)  # as a service manager stops it; Ctrl-C (SIGINT) takes the same path
        out, _ = proc.communicate(timeout=PATIENCE_S)
    assert proc.returncode == 0, out
    assert "CityHall Ops demo stopped." in out


# GET routes outside the API schema that are not pages: files the pages load, and Swagger UI's OAuth helper.
NOT_PAGES = frozenset({"/static/{name}", "/docs/assets/{name}", "/docs/oauth2-redirect"})


def page_routes(app: FastAPI) -> list[str]:
    """Every page of the app: its GET routes that are not part of the API schema, but files the pages load."""
    return sorted(
        str(c.path)
        for c in routing.iter_route_contexts(app.routes)
        if isinstance(c.original_route, APIRoute)
        and "GET" in (c.original_route.methods or ())
        and not c.original_route.include_in_schema
        and str(c.path) not in NOT_PAGES
    )


def matches(template: str, path: str) -> bool:
    """True when a concrete path fills a route's template (`/venues/calendar/{resource_id}`)."""
    return re.fullmatch(re.sub(r"\{[^/]+\}", "[^/]+", template), path) is not None


@dataclass
class Demo:
    """The demo stack with a client of its API, signed in as the demo's admin."""

    stack: DemoStack
    client: TestClient
    headers: dict[str, str]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """One demo as `cityhall demo` starts it (history, injected fault), for the tests below."""
    stack = start_demo(data_dir=tmp_path_factory.mktemp("demo"), api_port=servers.free_port())
    try:
        with TestClient(create_app(stack.settings, stack.session_factory)) as client:
            yield Demo(stack, client, sign_in(client, DEMO_ADMIN, stack.admin_password))
    finally:
        stack.stop()


def test_the_banner_lists_every_page_and_each_answers(demo: Demo) -> None:
    base = "http://127.0.0.1:8000"
    text = banner(demo.stack, base)
    routes = page_routes(demo.client.app)  # type: ignore[arg-type]
    assert len(routes) >= 14  # the walk sees the included routers
    listed = [p.path for p in demo.stack.pages]
    for route in routes:
        assert any(matches(route, path) for path in listed), f"{route} is not in the demo's banner"
    for path in listed:
        assert any(matches(route, path) for route in routes), f"the banner lists {path}, which is no page"
        assert f"{base}{path} " in text
    client = demo.client
    signed_in = client.post(
        "/venues/sign-in",
        data={"username": DEMO_ADMIN, "password": demo.stack.admin_password, "next": "/venues/book"},
        follow_redirects=False,
    )
    assert signed_in.status_code == 303, signed_in.text  # the staff pages' cookie, for /venues/book etc.
    for path in listed:
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 200, f"{path}: {answer.status_code} {answer.text[:200]}"
        assert answer.headers["content-type"].startswith("text/html"), path
    console = client.get("/").text
    for module in (
        "/crew",
        "/alarm-health",
        "/venues/calendar",
        "/dorms/board",
        "/training",
        "#reports",
        "/docs",
    ):
        assert f'href="{module}"' in console, f"the console does not link to {module}"


def _stored(demo: Demo, period: str) -> list[dict[str, Any]]:
    return [r for r in get_items(demo.client, "/reports", demo.headers) if r["period"] == period]


def test_last_months_report_has_numbers_and_last_years_comparison(demo: Demo) -> None:
    """The committee report runs on the embedded default: from the SQL readings table, on the history the
    demo backfilled, stored by the schedule in the housekeeping thread and generated again on request."""
    history = demo.stack.history
    assert history is not None
    assert len(history.meters) == 13  # each building's main meter of each area
    month = period_before(ReportKind.MONTHLY, datetime.now(UTC))
    assert history.since < month.last_year().start
    scheduled = wait_for(lambda: _stored(demo, month.label), what=f"the schedule to store {month.label}")
    assert scheduled[0]["generated_by"] == SCHEDULE_ACTOR

    created = demo.client.post(
        "/reports", json={"kind": "monthly", "period": month.label, "replace": True}, headers=demo.headers
    )
    assert created.status_code == 201, created.text
    report = created.json()
    assert report["generated_by"] == f"user:{DEMO_ADMIN}"
    electricity = report["summary"]["areas"]["electricity"]
    now_kwh, then_kwh = electricity["current"], electricity["last_year"]
    # Three buildings of a few thousand m2 use hundreds of MWh a month; last year's month was backfilled too
    assert now_kwh > 100_000
    assert then_kwh > 100_000
    assert electricity["change_pct"] is not None
    assert report["summary"]["areas"]["water"]["last_year"] > 0

    pdf = demo.client.get(report["files"]["pdf"], headers=demo.headers)
    assert pdf.headers["content-type"] == "application/pdf"
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    title, last_title = month.start.strftime("%B %Y"), month.last_year().start.strftime("%B %Y")
    assert f"{month.title} (" in text
    assert f"compared with {last_title}" in text.replace("  ", " ")
    assert f"{now_kwh:,.0f} kWh" in text
    assert f"{then_kwh:,.0f} kWh" in text
    assert title != last_title

    html = demo.client.get(report["files"]["html"], headers=demo.headers)
    assert html.headers["content-type"] == "text/html; charset=utf-8"
    assert f"{now_kwh:,.0f}" in html.text
    assert f"{then_kwh:,.0f}" in html.text

    xlsx = demo.client.get(report["files"]["xlsx"], headers=demo.headers)
    book = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    rows = book["Consumption"].iter_rows(min_row=2, values_only=True)
    total = next(r for r in rows if r[0] == "electricity" and r[1] == "total")
    assert total[5] == pytest.approx(now_kwh, rel=1e-9)
    assert total[6] == pytest.approx(then_kwh, rel=1e-9)


def test_housekeeping_notifies_escalates_and_reminds(demo: Demo) -> None:
    """The demo's housekeeping thread sends the fault's alarm over MQTT (the embedded default's channel);
    a pass half an hour on escalates the unacknowledged alarm and plans the repeat notification."""
    alarm = wait_for(
        lambda: get_items(demo.client, "/alarms?state=active", demo.headers),
        what="the injected fault's alarm",
    )[0]

    def sent(kind: str) -> list[NotificationLog]:
        with demo.stack.session_factory() as session:
            return list(
                session.scalars(
                    select(NotificationLog).where(
                        NotificationLog.alarm_id == alarm["id"],
                        NotificationLog.kind == kind,
                        NotificationLog.status == DeliveryStatus.SENT,
                    )
                )
            )

    raised = wait_for(lambda: sent("alarm_raised"), what="the alarm's notification")
    assert {n.channel for n in raised} == {"mqtt"}
    later = datetime.fromisoformat(alarm["raised_at"]) + timedelta(minutes=31)
    housekeeping = Housekeeping(demo.stack.settings, demo.stack.session_factory, interval_s=60)
    try:
        housekeeping.run_once(later)
    finally:
        housekeeping.notifier.close()
        housekeeping.readings.close()
    escalated = demo.client.get(f"/alarms/{alarm['id']}", headers=demo.headers).json()
    assert escalated["escalation_level"] == 1
    assert sent("alarm_repeat"), "no repeat notification for the unacknowledged alarm"


def test_the_alarm_health_report_reads_the_demos_alarms(demo: Demo) -> None:
    """The demo seeds last week's alarm history (cityhall/demo_alarms.py), so the report's default week has
    numbers: those worked out by hand in tests/web/test_alarm_health_page.py. Its live fault is this week's."""
    body = demo.client.get("/alarms/health", headers=demo.headers).json()
    assert body["period"]["week"] == demo.stack.alarm_week
    figures = {f["key"]: f["value"] for f in body["scope"]["figures"]}
    assert figures["alarms_total"] == 69
    assert figures["alarms_per_10min_peak"] == 15
    assert figures["flood_episodes"] == 1
    assert figures["chattering_alarms"] == 10
    assert {s["site"] for s in body["sites"]} == {"YH", "MZ"}
    assert body["scope"]["top_bad_actors"][0]["device_code"] == "YH-A-2F-CS-03"
    assert f"/alarm-health: {demo.stack.alarm_week}" in banner(demo.stack, "http://127.0.0.1:8000")
    page = demo.client.get("/alarm-health")
    assert page.status_code == 200
    assert "警報系統健康週報" in page.text
