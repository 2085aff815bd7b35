"""The reports API on SQLite and PostgreSQL: generate, list, read, download; who may do which; and without
InfluxDB, from the SQL readings table of the app's own database (the embedded default)."""

from __future__ import annotations

import io
from datetime import timedelta

import openpyxl
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr
from pypdf import PdfReader
from sqlalchemy.orm import Session, sessionmaker

from api.main import create_app
from cityhall.db import make_engine
from cityhall.settings import Settings
from cityhall.timeseries.sql import SqlStore
from tests import servers
from tests.api import conftest as api_fixtures
from tests.api.api_testdata import JWT_SECRET, AuthFor
from tests.reports.conftest import WEATHER_DEVICE, ReportData, report_readings, write_readings

# The API tests' fixtures: a fresh database (SQLite, then PostgreSQL) with the schema, people and tokens.
session_factory = api_fixtures.session_factory
password_hash = api_fixtures.password_hash
people = api_fixtures.people
client = api_fixtures.client
auth_for = api_fixtures.auth_for


@pytest.fixture
def settings(db_url: str, influx: servers.InfluxServer) -> Settings:
    """The app's settings: the test database, and the InfluxDB holding the report data."""
    return Settings(
        _env_file=None,
        database_url=db_url,
        jwt_secret=SecretStr(JWT_SECRET),
        influx_url=influx.url,
        influx_database="reports",
        energy_weather_device=WEATHER_DEVICE,
    )


@pytest.fixture
def app(settings: Settings, session_factory: sessionmaker[Session], report_data: ReportData) -> FastAPI:
    """The application, with the test register as its asset register."""
    application = create_app(settings, session_factory)
    application.state.meter_register = report_data.register
    return application


def test_generate_list_and_download(
    client: TestClient, auth_for: AuthFor, people: dict[str, int], report_data: ReportData
) -> None:
    eric = auth_for("eric")  # energy committee
    created = client.post("/reports", json={"kind": "monthly", "period": "2026-10"}, headers=eric)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["period"] == "2026-10"
    assert body["kind"] == "monthly"
    assert body["status"] == "ready"
    assert body["generated_by"] == "user:eric"
    assert body["period_start"].startswith("2026-09-30T16:00:00")  # Asia/Taipei midnight, in UTC
    report_id = body["id"]
    electricity = body["summary"]["areas"]["electricity"]
    assert electricity["unit"] == "kWh"
    from tests.reports.test_build import OCT  # noqa: PLC0415

    expected = report_data.used("YH-A-EM-MAIN", OCT.start, OCT.end) + report_data.used(
        "MZ-DORM-EM-MAIN", OCT.start, OCT.end
    )
    assert electricity["current"] == pytest.approx(expected, rel=1e-9)
    assert body["files"]["pdf"] == f"/reports/{report_id}.pdf"

    again = client.post("/reports", json={"kind": "monthly", "period": "2026-10"}, headers=eric)
    assert again.status_code == 409
    assert again.json()["detail"][0]["type"] == "report_exists"
    replaced = client.post(
        "/reports", json={"kind": "monthly", "period": "2026-10", "replace": True}, headers=eric
    )
    assert replaced.status_code == 201
    assert replaced.json()["id"] == report_id

    quarter = client.post("/reports", json={"kind": "quarterly", "period": "2026Q3"}, headers=auth_for("ada"))
    assert quarter.status_code == 201, quarter.text

    listed = client.get("/reports", headers=auth_for("audrey"))  # auditors read
    assert listed.status_code == 200
    page = listed.json()
    assert page["total"] == 2
    assert [r["period"] for r in page["items"]] == ["2026-10", "2026Q3"]  # latest period first
    only = client.get("/reports?kind=quarterly&limit=1", headers=eric).json()
    assert (only["total"], only["limit"], only["items"][0]["period"]) == (1, 1, "2026Q3")

    one = client.get(f"/reports/{report_id}", headers=auth_for("fiona"))
    assert one.status_code == 200
    assert one.json()["files"]["pdf_bytes"] > 10_000

    pdf = client.get(f"/reports/{report_id}.pdf", headers=eric)
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert 'filename="committee-report-monthly-2026-10.pdf"' in pdf.headers["content-disposition"]
    assert len(pdf.content) == one.json()["files"]["pdf_bytes"]
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "October 2026" in text
    assert f"{expected:,.0f} kWh" in text

    html = client.get(f"/reports/{report_id}.html", headers=eric)
    assert html.headers["content-type"] == "text/html; charset=utf-8"
    assert html.text.count("<svg") >= 5

    xlsx = client.get(f"/reports/{report_id}.xlsx", headers=eric)
    assert xlsx.headers["content-type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert xlsx.headers["content-disposition"].startswith("attachment;")
    book = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    totals = [r for r in book["Consumption"].iter_rows(min_row=2, values_only=True) if r[1] == "total"]
    assert next(r[5] for r in totals if r[0] == "electricity") == pytest.approx(expected, rel=1e-9)


def test_who_may_do_what(client: TestClient, auth_for: AuthFor, people: dict[str, int]) -> None:
    body = {"kind": "monthly", "period": "2026-09"}
    assert client.post("/reports", json=body).status_code == 401
    assert client.post("/reports", json=body, headers=auth_for("fiona")).status_code == 403
    assert client.post("/reports", json=body, headers=auth_for("audrey")).status_code == 403
    assert client.get("/reports", headers=auth_for("sam")).status_code == 403  # staff
    assert client.get("/reports", headers=auth_for("chen")).status_code == 403  # crew
    assert client.get("/reports/999", headers=auth_for("eric")).status_code == 404
    assert client.get("/reports/999.pdf", headers=auth_for("eric")).status_code == 404
    assert client.get("/reports/1.docx", headers=auth_for("eric")).status_code == 422


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "monthly", "period": "2026Q3"}, "period"),
        ({"kind": "quarterly", "period": "2026-10"}, "period"),
        ({"kind": "monthly", "period": "2026-13"}, "period"),
        ({"kind": "weekly", "period": "2026-10"}, "kind"),
    ],
)
def test_a_bad_period_is_a_clear_422(
    client: TestClient, auth_for: AuthFor, people: dict[str, int], body: dict[str, str], field: str
) -> None:
    answer = client.post("/reports", json=body, headers=auth_for("eric"))
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"][-1] == field


def test_without_influxdb_reports_read_the_sql_readings_table(
    settings: Settings,
    session_factory: sessionmaker[Session],
    auth_for: AuthFor,
    people: dict[str, int],
    report_data: ReportData,
) -> None:
    """No CITYHALL_INFLUX_URL (the demo, a laptop): the report reads the readings table, not a 409."""
    from tests.reports.test_build import OCT, OCT_2025  # noqa: PLC0415

    store = SqlStore(make_engine(settings.database_url))
    for period in (OCT_2025, OCT):
        write_readings(store, report_readings(report_data, period.start - timedelta(hours=1), period.end))
    store.close()
    embedded = create_app(settings.model_copy(update={"influx_url": ""}), session_factory)
    embedded.state.meter_register = report_data.register
    with TestClient(embedded) as client:
        created = client.post(
            "/reports", json={"kind": "monthly", "period": "2026-10"}, headers=auth_for("eric")
        )
        assert created.status_code == 201, created.text
        pdf = client.get(created.json()["files"]["pdf"], headers=auth_for("eric"))
    electricity = created.json()["summary"]["areas"]["electricity"]
    meters = ("YH-A-EM-MAIN", "MZ-DORM-EM-MAIN")
    now = sum(report_data.used(m, OCT.start, OCT.end) for m in meters)
    then = sum(report_data.used(m, OCT_2025.start, OCT_2025.end) for m in meters)
    assert electricity["current"] == pytest.approx(now, rel=1e-9)
    assert electricity["last_year"] == pytest.approx(then, rel=1e-9)
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert f"{now:,.0f} kWh" in text
    assert f"{then:,.0f} kWh" in text
