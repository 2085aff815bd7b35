"""The rendered report read back: the PDF's text (pypdf), the HTML's charts and the XLSX's numbers (openpyxl)."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest
from pypdf import PdfReader
from sqlalchemy.orm import Session, sessionmaker

from cityhall.energy.register import Area
from cityhall.reports.build import build_report
from cityhall.reports.charts import Chart, report_charts
from cityhall.reports.content import CommitteeReport
from cityhall.reports.html import render_html
from cityhall.reports.pdf import find_cjk_font, render_pdf
from cityhall.reports.period import ReportKind, report_period
from cityhall.reports.text import has_cjk, latin, number
from cityhall.reports.xlsx import render_xlsx
from tests import servers
from tests.reports.conftest import WEATHER_DEVICE, ReportData
from tests.reports.test_build import _committee_records
from tests.waiting import PATIENCE_S

OCT = report_period(ReportKind.MONTHLY, "2026-10")
OCT_2025 = report_period(ReportKind.MONTHLY, "2025-10")
MAIN = "Main Administrative Building (永華市政中心行政大樓)"


@pytest.fixture(scope="module")
def october(report_data: ReportData, tmp_path_factory: pytest.TempPathFactory) -> CommitteeReport:
    """October 2026's report, with committee records."""
    from cityhall.db import Base, make_engine, make_sessionmaker  # noqa: PLC0415

    engine = make_engine(f"sqlite+pysqlite:///{tmp_path_factory.mktemp('render') / 'c.db'}")
    Base.metadata.create_all(engine)
    factory: sessionmaker[Session] = make_sessionmaker(engine)
    _committee_records(factory)
    with factory() as session:
        report = build_report(
            session,
            report_data.store,
            report_data.register,
            kind=ReportKind.MONTHLY,
            period="2026-10",
            weather_device=WEATHER_DEVICE,
        )
    engine.dispose()
    return report


@pytest.fixture(scope="module")
def charts(october: CommitteeReport) -> list[Chart]:
    """The report's charts, drawn once for every test here."""
    return report_charts(october)


def _pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_names_lose_only_their_cjk_part() -> None:
    assert latin(MAIN) == "Main Administrative Building"
    assert latin("Department of Budget, Accounting and Statistics (主計處)") == (
        "Department of Budget, Accounting and Statistics"
    )
    assert latin("Secretariat 秘書處 office") == "Secretariat office"
    assert not has_cjk(latin(MAIN))
    assert number(-0.0001, digits=2) == "0.00"
    assert number(12345.6) == "12,346"


def test_pdf_holds_the_numbers_and_the_chinese_names(
    october: CommitteeReport, charts: list[Chart], report_data: ReportData
) -> None:
    if find_cjk_font() is None:
        servers.require_service(
            "a CJK font", "no CJK font installed; scripts/install-system-deps.sh installs fonts-wqy-microhei"
        )
    data = render_pdf(october, charts=charts)
    assert data.startswith(b"%PDF")
    text = _pdf_text(data)
    assert "October 2026" in text
    assert MAIN in text
    assert "Minzhi Staff Dormitory (民治員工宿舍)" in text
    assert "Retune chiller sequencing (冰水主機)" in text
    kwh = report_data.used("YH-A-EM-MAIN", OCT.start, OCT.end)
    last = report_data.used("YH-A-EM-MAIN", OCT_2025.start, OCT_2025.end)
    assert f"{kwh:,.0f}" in text
    assert f"{last:,.0f}" in text
    total = october.area(Area.ELECTRICITY).total.current.value or 0.0
    assert f"{total:,.0f} kWh" in text
    yh = next(b for b in october.baselines if b.code == "YH-A")
    assert f"{yh.savings.value:,.0f}" in text
    assert "CV(RMSE)" in text
    assert "reset" in text
    assert "spike" in text
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) >= 5
    images = sum(len(page.images) for page in reader.pages)
    assert images == len(charts)


def test_pdf_without_a_cjk_font_drops_the_chinese_cleanly(
    october: CommitteeReport, charts: list[Chart]
) -> None:
    data = render_pdf(october, charts=charts, cjk_font=None)
    text = _pdf_text(data)
    assert "Main Administrative Building" in text
    assert not has_cjk(text)
    assert "Retune chiller sequencing" in text


def test_html_has_every_chart_and_the_tables(october: CommitteeReport, charts: list[Chart]) -> None:
    html = render_html(october, charts=charts)
    assert html.startswith("<!DOCTYPE html>")
    keys = {c.key for c in charts}
    assert keys == {
        "area-electricity",
        "area-water",
        "area-fuel",
        "area-solar",
        "daily-electricity",
        "savings",
        "progress",
    }
    for key in keys:
        assert f'id="chart-{key}"' in html
    assert html.count("<svg") == len(charts)
    # Text stays text in the SVG: the titles and axis labels with units are in the page
    assert "Electricity by building: October 2026 vs October 2025" in html
    assert "Electricity (kWh)" in html
    assert "Electricity (kWh/day)" in html
    assert MAIN in html
    total = october.area(Area.ELECTRICITY).total.current.value or 0.0
    assert f"{total:,.0f}" in html
    assert "<script" not in html  # a self-contained page: nothing runs
    # Names from the register are escaped, never markup
    assert re.search(r"<td[^>]*>Retune chiller sequencing \(冰水主機\)</td>", html)


def test_xlsx_numbers_match_the_raw_registers(october: CommitteeReport, report_data: ReportData) -> None:
    book = openpyxl.load_workbook(io.BytesIO(render_xlsx(october)))
    assert book.sheetnames == [
        "Report",
        "Consumption",
        "Daily",
        "EnPIs",
        "Baselines",
        "Four areas",
        "Action items",
        "Anomalies",
    ]
    sheet = book["Consumption"]
    header = [c.value for c in sheet[1]]
    assert header[:5] == ["area", "scope", "code", "name", "unit"]
    rows = {(r[0], r[1], r[2]): r for r in sheet.iter_rows(min_row=2, values_only=True)}
    meters = {
        ("electricity", "YH-A"): "YH-A-EM-MAIN",
        ("electricity", "MZ-DORM"): "MZ-DORM-EM-MAIN",
        ("water", "MZ-DORM"): "MZ-DORM-WM-MAIN",
        ("solar", "YH-A"): "YH-A-PV-01",
    }
    for (area, building), meter in meters.items():
        row = rows[(area, "building", building)]
        assert row[4] == ("m3" if area == "water" else "kWh")
        assert row[5] == pytest.approx(report_data.used(meter, OCT.start, OCT.end), rel=1e-9)
        assert row[6] == pytest.approx(report_data.used(meter, OCT_2025.start, OCT_2025.end), rel=1e-9)
    yh = report_data.used("YH-A-EM-MAIN", OCT.start, OCT.end)
    assert rows[("electricity", "department", "DGA")][5] == pytest.approx(yh * 3000 / 20000, rel=1e-9)
    assert rows[("electricity", "total", "ALL")][5] == pytest.approx(
        yh + report_data.used("MZ-DORM-EM-MAIN", OCT.start, OCT.end), rel=1e-9
    )
    daily = [r for r in book["Daily"].iter_rows(min_row=2, values_only=True) if r[0] == "electricity"]
    assert len(daily) == 31
    assert sum(float(str(r[3])) for r in daily) == pytest.approx(
        october.area(Area.ELECTRICITY).total.current.value
    )
    enpis = {(r[0], r[2]): r for r in book["EnPIs"].iter_rows(min_row=2, values_only=True)}
    assert enpis[("YH-A", "kwh_per_m2")][3] == "kWh/m2"
    assert enpis[("YH-A", "kwh_per_m2")][4] == pytest.approx(yh / 20000, rel=1e-9)
    baselines = book["Baselines"]
    heads = [c.value for c in baselines[1]]
    assert "savings (kWh)" in heads
    assert "CV(RMSE) monthly (%)" in heads
    anomalies = list(book["Anomalies"].iter_rows(min_row=2, values_only=True))
    assert {(r[1], r[4]) for r in anomalies} == {("YH-A-EM-MAIN", "reset"), ("MZ-DORM-WM-MAIN", "spike")}


def test_pdf_pages_render_to_images(october: CommitteeReport, charts: list[Chart], tmp_path: Path) -> None:
    """pdftoppm (poppler) can rasterise every page: the file is a well-formed PDF, not just parseable."""
    if shutil.which("pdftoppm") is None:
        servers.require_service(
            "pdftoppm", "poppler-utils is not installed; run scripts/install-system-deps.sh"
        )
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(render_pdf(october, charts=charts))
    subprocess.run(
        ["pdftoppm", "-r", "40", "-png", str(pdf), str(tmp_path / "page")], check=True, timeout=PATIENCE_S
    )
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) == len(PdfReader(str(pdf)).pages)
    assert min(p.stat().st_size for p in pages) > 2000
