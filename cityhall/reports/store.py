"""Generate a committee report's files and keep them: one `committee_reports` row per kind and period."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from cityhall.db import utcnow
from cityhall.energy.register import MeterRegister
from cityhall.errors import ConflictError, NotFoundError
from cityhall.models import ReportKind, ReportStatus, StoredReport
from cityhall.reports.build import STEPS, build_report
from cityhall.reports.charts import report_charts
from cityhall.reports.content import CommitteeReport
from cityhall.reports.html import render_html
from cityhall.reports.pdf import render_pdf
from cityhall.reports.period import ReportPeriod
from cityhall.reports.xlsx import render_xlsx
from cityhall.timeseries import AggregatingStore


class ReportFormat(StrEnum):
    """A file a report is rendered to."""

    PDF = "pdf"
    HTML = "html"
    XLSX = "xlsx"


MEDIA_TYPES = {
    ReportFormat.PDF: "application/pdf",
    ReportFormat.HTML: "text/html; charset=utf-8",
    ReportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
ALL_FORMATS = tuple(ReportFormat)
# The steps generate_report announces: the numbers' steps, then the renderers.
RENDER_STEPS = ("charts", "PDF", "HTML", "XLSX")
GENERATE_STEPS = (*STEPS, *RENDER_STEPS)


@dataclass(frozen=True, slots=True)
class GeneratedReport:
    """A report's numbers and its rendered files (a format not asked for is absent)."""

    report: CommitteeReport
    files: dict[ReportFormat, bytes]
    seconds: float


def render_files(
    report: CommitteeReport,
    formats: Collection[ReportFormat] = ALL_FORMATS,
    *,
    on_step: Callable[[str], None] | None = None,
) -> dict[ReportFormat, bytes]:
    """Render the report to the formats asked for; the charts are drawn once for the PDF and the HTML."""
    step = on_step or (lambda _name: None)
    step(RENDER_STEPS[0])
    charts = report_charts(report) if {ReportFormat.PDF, ReportFormat.HTML} & set(formats) else []
    files: dict[ReportFormat, bytes] = {}
    step(RENDER_STEPS[1])
    if ReportFormat.PDF in formats:
        files[ReportFormat.PDF] = render_pdf(report, charts=charts)
    step(RENDER_STEPS[2])
    if ReportFormat.HTML in formats:
        files[ReportFormat.HTML] = render_html(report, charts=charts).encode()
    step(RENDER_STEPS[3])
    if ReportFormat.XLSX in formats:
        files[ReportFormat.XLSX] = render_xlsx(report)
    return files


def generate_report(
    session: Session,
    store: AggregatingStore,
    register: MeterRegister,
    *,
    period: ReportPeriod,
    weather_device: str | None,
    formats: Collection[ReportFormat] = ALL_FORMATS,
    on_step: Callable[[str], None] | None = None,
) -> GeneratedReport:
    """Build the report's numbers and render its files (GENERATE_STEPS are announced through `on_step`)."""
    started = time.perf_counter()
    report = build_report(
        session,
        store,
        register,
        kind=period.kind,
        period=period,
        weather_device=weather_device,
        on_step=on_step,
    )
    files = render_files(report, formats, on_step=on_step)
    return GeneratedReport(report, files, time.perf_counter() - started)


def summary(report: CommitteeReport) -> dict[str, Any]:
    """The key figures kept beside the files, for lists: per area this period and last year, with units."""
    return {
        "areas": {
            s.area.value: {
                "unit": s.unit,
                "current": s.total.current.value,
                "last_year": s.total.last_year.value,
                "change_pct": s.total.change.value,
            }
            for s in report.areas
        },
        "savings_kwh": sum(b.savings.value or 0.0 for b in report.baselines),
        "anomalies": len(report.anomalies),
        "open_action_items": len(report.action_items),
        "overdue_action_items": len(report.overdue_items),
    }


def find_report(session: Session, kind: ReportKind, period: str) -> StoredReport | None:
    """The stored report of a kind and period, if any."""
    return session.scalars(
        select(StoredReport).where(StoredReport.kind == kind, StoredReport.period == period)
    ).one_or_none()


def _fill(row: StoredReport, generated: GeneratedReport, generated_by: str) -> None:
    files = generated.files
    row.status = ReportStatus.READY
    row.error = ""
    row.generated_at = generated.report.generated_at
    row.generated_by = generated_by
    row.generation_s = round(generated.seconds, 3)
    row.summary = summary(generated.report)
    row.pdf = files.get(ReportFormat.PDF)
    row.html = files.get(ReportFormat.HTML)
    row.xlsx = files.get(ReportFormat.XLSX)
    row.pdf_bytes = len(row.pdf or b"")
    row.html_bytes = len(row.html or b"")
    row.xlsx_bytes = len(row.xlsx or b"")


def _new_row(period: ReportPeriod) -> StoredReport:
    return StoredReport(
        kind=period.kind, period=period.label, period_start=period.start, period_end=period.end, summary={}
    )


def save_report(
    factory: sessionmaker[Session], generated: GeneratedReport, *, generated_by: str, replace: bool = False
) -> StoredReport:
    """Store a generated report in its own transaction; ConflictError when the period is stored already
    (ready, and not `replace`), including when another process stored it a moment earlier. With `replace`,
    a row another process inserted meanwhile (the schedule, say) is replaced too."""
    period = generated.report.period
    try:
        return _store(factory, generated, generated_by=generated_by, replace=replace)
    except IntegrityError as err:  # the unique (kind, period): another process stored it first
        if not replace:
            raise _exists(period) from err
    try:
        return _store(factory, generated, generated_by=generated_by, replace=replace)  # now found: replaced
    except IntegrityError as err:
        raise _exists(period) from err


def _store(
    factory: sessionmaker[Session], generated: GeneratedReport, *, generated_by: str, replace: bool
) -> StoredReport:
    period = generated.report.period
    with factory() as session:
        row = find_report(session, period.kind, period.label)
        if row is not None and row.status is ReportStatus.READY and not replace:
            raise _exists(period)
        if row is None:
            row = _new_row(period)
            session.add(row)
        _fill(row, generated, generated_by)
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            raise
        session.refresh(row)
        session.expunge(row)
        return row


def record_failure(
    factory: sessionmaker[Session],
    period: ReportPeriod,
    *,
    error: str,
    generated_by: str,
    at: datetime | None = None,
) -> None:
    """Keep a failed generation's error in the period's row (unless a ready report is there)."""
    with factory() as session:
        row = find_report(session, period.kind, period.label)
        if row is not None and row.status is ReportStatus.READY:
            return
        if row is None:
            row = _new_row(period)
            session.add(row)
        row.status = ReportStatus.FAILED
        row.error = error[:2000]
        row.generated_at = at or utcnow()
        row.generated_by = generated_by
        try:
            session.commit()
        except IntegrityError:  # another process wrote the row meanwhile: its outcome stands
            session.rollback()


def _exists(period: ReportPeriod) -> ConflictError:
    return ConflictError(
        "report_exists",
        f"the {period.kind.value} report for {period.label} is stored already; ask to replace it",
        loc=("body", "period"),
    )


def reports_query(*, kind: ReportKind | None = None) -> Select[StoredReport]:
    """Stored reports, the latest period first (files not loaded)."""
    stmt = select(StoredReport).order_by(StoredReport.period_start.desc(), StoredReport.kind)
    return stmt.where(StoredReport.kind == kind) if kind is not None else stmt


def get_report(session: Session, report_id: int) -> StoredReport:
    """A stored report by id, or 404."""
    row = session.get(StoredReport, report_id)
    if row is None:
        raise NotFoundError("report_not_found", f"no report {report_id}", loc=("path", "report_id"))
    return row


def report_file(row: StoredReport, fmt: ReportFormat) -> bytes:
    """One of a stored report's files; 404 when it failed or was stored without that format."""
    data = {ReportFormat.PDF: row.pdf, ReportFormat.HTML: row.html, ReportFormat.XLSX: row.xlsx}[fmt]
    if row.status is not ReportStatus.READY or data is None:
        raise NotFoundError(
            "report_file_missing", f"report {row.id} has no {fmt.value} file", loc=("path", "report_id")
        )
    return data


def file_name(kind: ReportKind, period: str, fmt: ReportFormat) -> str:
    """A report file's name, e.g. `committee-report-monthly-2026-10.pdf`."""
    return f"committee-report-{kind.value}-{period}.{fmt.value}"
