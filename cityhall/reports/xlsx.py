"""The committee report's numbers as an Excel workbook (openpyxl): one flat sheet per section, numbers as
numbers, each figure beside its unit, so the committee's staff can pivot and chart them."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date, datetime

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from cityhall.energy.periods import TAIPEI
from cityhall.reports.content import CommitteeReport

XlsxValue = str | float | int | bool | date | datetime | None


def _sheet(
    workbook: Workbook, title: str, headers: Sequence[str], rows: Sequence[Sequence[XlsxValue]]
) -> None:
    sheet = workbook.create_sheet(title[:31])  # Excel's limit on sheet names
    sheet.append(list(headers))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(list(row))
    sheet.freeze_panes = "A2"
    for i, heading in enumerate(headers, start=1):
        widest = max([len(heading), *(len(str(r[i - 1])) for r in rows[:200] if r[i - 1] is not None)])
        sheet.column_dimensions[get_column_letter(i)].width = min(max(10, widest + 2), 60)


def _local(ts: datetime) -> datetime:
    """Excel has no time zones: Asia/Taipei wall-clock time, as the column heading says."""
    return ts.astimezone(TAIPEI).replace(tzinfo=None)


def render_xlsx(report: CommitteeReport) -> bytes:
    """The report's numbers as an XLSX workbook."""
    workbook = Workbook()
    about = workbook.active
    assert about is not None  # noqa: S101 - a new workbook always has a sheet
    about.title = "Report"
    for key, value in (
        ("report", f"Energy-conservation committee report, {report.period.title}"),
        ("kind", report.kind.value),
        ("period", report.period.label),
        ("period start (Asia/Taipei)", _local(report.period.start)),
        ("period end, exclusive (Asia/Taipei)", _local(report.period.end)),
        ("compared with", report.last_year.label),
        ("generated at (Asia/Taipei)", _local(report.generated_at)),
        ("outdoor temperature sensor", report.weather.device or ""),
        ("mean outdoor temperature (degC)", report.weather.mean_temperature.value),
        ("cooling degree-days (degC*d)", report.weather.cooling_degree_days.value),
        ("cooling degree-days last year (degC*d)", report.weather.cooling_degree_days_last_year.value),
        *((f"note {i}", note) for i, note in enumerate(report.notes, start=1)),
    ):
        about.append([key, value])
    about.column_dimensions["A"].width = 40
    about.column_dimensions["B"].width = 60

    consumption = [
        (s.area.value, scope, r.code, r.name, s.unit, r.current.value, r.last_year.value, r.change.value)
        for s in report.areas
        for scope, rows in (("building", s.buildings), ("department", s.departments), ("total", (s.total,)))
        for r in rows
    ]
    _sheet(
        workbook,
        "Consumption",
        ("area", "scope", "code", "name", "unit", report.period.label, report.last_year.label, "change %"),
        consumption,
    )
    _sheet(
        workbook,
        "Daily",
        ("area", "unit", "day (Asia/Taipei)", report.period.label, f"same day of {report.last_year.label}"),
        [
            (s.area.value, s.daily.unit, day, now, then)
            for s in report.areas
            for day, now, then in zip(s.daily.days, s.daily.current, s.daily.last_year, strict=True)
        ],
    )
    _sheet(
        workbook,
        "EnPIs",
        ("building", "name", "indicator", "unit", "value"),
        [(b.code, b.name, v.key, v.unit, v.value) for b in report.enpis for v in b.values],
    )
    fields = (
        ("intercept", "intercept"),
        ("cdd_balance", "CDD balance point"),
        ("cdd_slope", "CDD slope"),
        ("hdd_balance", "HDD balance point"),
        ("hdd_slope", "HDD slope"),
        ("r2", "R2"),
        ("cv_rmse_daily", "CV(RMSE) daily"),
        ("nmbe_daily", "NMBE daily"),
        ("cv_rmse_monthly", "CV(RMSE) monthly"),
        ("nmbe_monthly", "NMBE monthly"),
        ("adjusted_baseline", "adjusted baseline"),
        ("reporting", "actual"),
        ("savings", "savings"),
        ("uncertainty", "savings uncertainty (+/-)"),
        ("savings_pct", "savings"),
        ("confidence", "confidence"),
    )
    first = report.baselines[0] if report.baselines else None
    baseline_headings = [
        f"{label} ({getattr(first, key).unit})" if first is not None else label for key, label in fields
    ]
    _sheet(
        workbook,
        "Baselines",
        (
            "building",
            "name",
            "area",
            "status",
            "model",
            "baseline days",
            "meets ASHRAE 14 (monthly)",
            "significant",
            *baseline_headings,
        ),
        [
            (
                b.code,
                b.name,
                b.area.value,
                b.status.value,
                b.model_kind,
                b.baseline_days,
                b.meets_ashrae14,
                b.significant,
                *(getattr(b, key).value for key, _label in fields),
            )
            for b in report.baselines
        ],
    )
    _sheet(
        workbook,
        "Four areas",
        (
            "department",
            "name",
            "area",
            "unit",
            "metered",
            "entered",
            "actual",
            "target to date",
            "full-year target",
            "forecast",
            "status",
        ),
        [
            (
                p.department,
                p.department_name,
                p.area,
                p.actual.unit,
                p.metered.value,
                p.entered.value,
                p.actual.value,
                p.target_to_date.value,
                p.target.value,
                p.forecast.value,
                p.status,
            )
            for p in report.progress
        ],
    )
    _sheet(
        workbook,
        "Action items",
        ("id", "action", "owner", "due", "overdue", "decided at"),
        [(i.id, i.description, i.owner, i.due_on, i.overdue, i.meeting) for i in report.action_items],
    )
    _sheet(
        workbook,
        "Anomalies",
        ("time (Asia/Taipei)", "meter", "building", "area", "kind", "unit", "before", "after", "counted"),
        [
            (
                _local(a.ts),
                a.device,
                a.building,
                a.area.value,
                a.kind,
                a.counted.unit,
                a.before.value,
                a.after.value,
                a.counted.value,
            )
            for a in report.anomalies
        ],
    )
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
