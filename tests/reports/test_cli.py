"""`cityhall energy report` as an operator runs it: files written, the report stored, bad input refused."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import openpyxl
import pytest
from pypdf import PdfReader
from sqlalchemy import select
from typer.testing import CliRunner

from cityhall.cli import app
from cityhall.db import make_engine, make_sessionmaker
from cityhall.models import StoredReport
from cityhall.timeseries.sql import SqlStore
from tests import servers
from tests.reports.conftest import REGISTER_FILE, WEATHER_DEVICE, ReportData, report_readings, write_readings
from tests.reports.test_build import Q3

runner = CliRunner()


pytestmark = pytest.mark.usefixtures("fresh_settings")  # each command reads the test's environment


@pytest.fixture
def environment(
    tmp_path: Path, influx: servers.InfluxServer, report_data: ReportData, monkeypatch: pytest.MonkeyPatch
) -> str:
    """A migrated SQLite database, the report data's InfluxDB, the test register and its outdoor sensor."""
    url = f"sqlite+pysqlite:///{tmp_path / 'cityhall.db'}"
    for name, value in {
        "DATABASE_URL": url,
        "INFLUX_URL": influx.url,
        "INFLUX_DATABASE": "reports",
        "ASSET_REGISTER_FILE": str(REGISTER_FILE),
        "ENERGY_WEATHER_DEVICE": WEATHER_DEVICE,
    }.items():
        monkeypatch.setenv(f"CITYHALL_{name}", value)
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    return url


def test_quarterly_report_files_and_store(environment: str, tmp_path: Path, report_data: ReportData) -> None:
    out = tmp_path / "out"
    result = runner.invoke(app, ["energy", "report", "--quarter", "2026Q3", "--out", str(out), "--store"])
    assert result.exit_code == 0, result.output
    assert "stored as report 1" in result.output
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "committee-report-quarterly-2026Q3.html",
        "committee-report-quarterly-2026Q3.pdf",
        "committee-report-quarterly-2026Q3.xlsx",
    ]
    text = "\n".join(p.extract_text() for p in PdfReader(out / names[1]).pages)
    assert "Q3 2026 (July-September)" in text
    book = openpyxl.load_workbook(out / names[2])
    row = next(
        r
        for r in book["Consumption"].iter_rows(min_row=2, values_only=True)
        if r[:3] == ("electricity", "building", "YH-A")
    )
    assert row[5] == pytest.approx(report_data.used("YH-A-EM-MAIN", Q3.start, Q3.end), rel=1e-9)
    with make_sessionmaker(make_engine(environment))() as session:
        stored = session.scalars(select(StoredReport)).one()
        assert (stored.kind.value, stored.period, stored.generated_by) == ("quarterly", "2026Q3", "cli")
        assert stored.pdf == (out / names[1]).read_bytes()
    # Storing the same quarter again needs --replace
    again = runner.invoke(app, ["energy", "report", "--quarter", "2026Q3", "--out", str(out), "--store"])
    assert again.exit_code == 1
    assert "stored already" in again.output


def test_one_format_only(environment: str, tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "energy",
            "report",
            "--month",
            "2026-10",
            "--format",
            "xlsx",
            "--out",
            str(tmp_path),
            "--no-progress",
        ],
    )
    assert result.exit_code == 0, result.output
    assert [p.name for p in tmp_path.glob("committee-report-*")] == ["committee-report-monthly-2026-10.xlsx"]
    book = openpyxl.load_workbook(
        io.BytesIO((tmp_path / "committee-report-monthly-2026-10.xlsx").read_bytes())
    )
    assert "Anomalies" in book.sheetnames


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "either --month"),
        (["--month", "2026-10", "--quarter", "2026Q3"], "either --month"),
        (["--month", "2026-13"], "looks like 2026-10"),
        (["--quarter", "2026-10"], "looks like 2026Q3"),
        (["--month", "2026-10", "--format", "docx"], "--format"),
    ],
)
def test_bad_arguments_are_refused(environment: str, args: list[str], message: str) -> None:
    result = runner.invoke(app, ["energy", "report", *args])
    assert result.exit_code == 1
    assert message in result.output


def test_on_the_embedded_default_the_report_just_works(
    tmp_path: Path, report_data: ReportData, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No InfluxDB and a SQLite file nobody migrated: the command creates the schema and reads the SQL
    readings table (a new user's first try, or the demo's database)."""
    from tests.reports.test_build import OCT, OCT_2025  # noqa: PLC0415

    url = f"sqlite+pysqlite:///{tmp_path / 'fresh.db'}"
    monkeypatch.setenv("CITYHALL_DATABASE_URL", url)
    monkeypatch.setenv("CITYHALL_ASSET_REGISTER_FILE", str(REGISTER_FILE))
    monkeypatch.delenv("CITYHALL_INFLUX_URL", raising=False)
    args = ["energy", "report", "--month", "2026-10", "--format", "xlsx", "--out", str(tmp_path), "--store"]
    empty = runner.invoke(app, args)
    assert empty.exit_code == 0, empty.output  # no `cityhall db upgrade` first
    store = SqlStore(make_engine(url))
    for period in (OCT_2025, OCT):
        write_readings(store, report_readings(report_data, period.start - timedelta(hours=1), period.end))
    store.close()
    result = runner.invoke(app, [*args, "--replace"])
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(tmp_path / "committee-report-monthly-2026-10.xlsx")
    row = next(
        r
        for r in book["Consumption"].iter_rows(min_row=2, values_only=True)
        if r[:3] == ("electricity", "building", "YH-A")
    )
    assert row[5] == pytest.approx(report_data.used("YH-A-EM-MAIN", OCT.start, OCT.end), rel=1e-9)
    assert row[6] == pytest.approx(report_data.used("YH-A-EM-MAIN", OCT_2025.start, OCT_2025.end), rel=1e-9)
