"""The report's sections, tables and chart places, described once as data for the PDF and HTML renderers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

from cityhall.energy.periods import TAIPEI
from cityhall.energy.register import Area
from cityhall.reports.content import CommitteeReport, Quantity
from cityhall.reports.text import amount, number, signed_pct

Cell = str | float | int | bool | date | None
Align = Literal["L", "R", "C"]


@dataclass(frozen=True, slots=True)
class Column:
    """A table column: its heading (with the unit), relative width, alignment and decimals."""

    heading: str
    width: float = 1.0
    align: Align = "R"
    digits: int | None = None


@dataclass(frozen=True, slots=True)
class Table:
    """A table of the report; `flag` marks rows to highlight (overdue, over target, not significant)."""

    title: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Cell, ...], ...]
    flag: tuple[bool, ...] = ()
    empty: str = "None."


@dataclass(frozen=True, slots=True)
class ChartPlace:
    """Where a chart (cityhall.reports.charts, by key) goes."""

    key: str


@dataclass(frozen=True, slots=True)
class Section:
    """A numbered section: paragraphs, then tables and charts in order."""

    title: str
    paragraphs: tuple[str, ...] = ()
    blocks: tuple[Table | ChartPlace, ...] = field(default_factory=tuple)


def cell_text(value: Cell, column: Column) -> str:
    """How a cell reads in the PDF and HTML."""
    if value is None:
        return "\u2013"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return number(value, digits=column.digits)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _local(ts: datetime) -> str:
    return ts.astimezone(TAIPEI).strftime("%Y-%m-%d %H:%M")


def _v(q: Quantity) -> float | None:
    return q.value


def key_figures(report: CommitteeReport) -> Table:
    """The first page's summary: each area this period against last year, savings and open issues."""
    rows: list[tuple[Cell, ...]] = [
        (
            s.area.value.capitalize(),
            amount(s.total.current),
            amount(s.total.last_year),
            signed_pct(s.total.change),
        )
        for s in report.areas
    ]
    fitted = [b for b in report.baselines if b.savings.value is not None and b.uncertainty.value is not None]
    if fitted:
        saved = sum(b.savings.value or 0.0 for b in fitted)
        spread = sum((b.uncertainty.value or 0.0) ** 2 for b in fitted) ** 0.5
        base = sum(b.adjusted_baseline.value or 0.0 for b in fitted)
        rows.append(
            (
                f"Electricity saved against the baseline ({len(fitted)} buildings)",
                f"{number(saved)} \u00b1 {number(spread)} kWh",
                "",
                f"{100 * saved / base:+.1f} %" if base else "\u2013",
            )
        )
    cdd = report.weather.cooling_degree_days
    rows.append(
        (
            "Cooling degree-days (base 24 degC)",
            amount(cdd),
            amount(report.weather.cooling_degree_days_last_year),
            "",
        )
    )
    rows.append(("Register anomalies found", str(len(report.anomalies)), "", ""))
    rows.append(
        (
            "Open committee action items (overdue)",
            f"{len(report.action_items)} ({len(report.overdue_items)})",
            "",
            "",
        )
    )
    return Table(
        "Key figures",
        (
            Column("", 2.6, "L"),
            Column(report.period.title, 1.4),
            Column(report.last_year.title, 1.4),
            Column("Change", 0.8),
        ),
        tuple(rows),
    )


def _consumption_tables(report: CommitteeReport, area: Area) -> tuple[Table, ...]:
    s = report.area(area)
    unit = s.unit
    columns = (
        Column("Code", 0.9, "L"),
        Column("Name", 2.8, "L"),
        Column(f"{report.period.title} ({unit})", 1.2),
        Column(f"{report.last_year.title} ({unit})", 1.2),
        Column("Change (%)", 0.8, digits=1),
    )
    buildings = tuple(
        (r.code, r.name, _v(r.current), _v(r.last_year), _v(r.change)) for r in (*s.buildings, s.total)
    )
    tables = [Table(f"{area.value.capitalize()} by building", columns, buildings)]
    if s.departments:
        tables.append(
            Table(
                f"{area.value.capitalize()} by department (floor-area share of each building)",
                columns,
                tuple((r.code, r.name, _v(r.current), _v(r.last_year), _v(r.change)) for r in s.departments),
            )
        )
    return tuple(tables)


_ENPI_COLUMNS = (
    ("kwh_per_m2", "kWh per m2", 2),
    ("kwh_per_occupant", "kWh per person", 1),
    ("kwh_per_cdd", "kWh per CDD", 0),
    ("peak_demand_kw", "Peak (kW)", 0),
    ("night_baseload_ratio", "Night / day load", 2),
    ("weekend_baseload_ratio", "Weekend / day load", 2),
    ("water_m3_per_occupant", "m3 water per person", 2),
    ("solar_share_pct", "PV share (%)", 1),
)


def _enpi_table(report: CommitteeReport) -> Table:
    columns = (Column("Building", 2.0, "L"), *(Column(h, 1.0, digits=d) for _k, h, d in _ENPI_COLUMNS))
    rows = tuple(
        (f"{b.code} {b.name}", *(b.value(k).value for k, _h, _d in _ENPI_COLUMNS)) for b in report.enpis
    )
    return Table("Energy performance indicators", columns, rows)


def _baseline_tables(report: CommitteeReport) -> tuple[Table, ...]:
    fit = Table(
        "Baseline models and their fit (ASHRAE Guideline 14, monthly: CV(RMSE) <= 15 %, |NMBE| <= 5 %)",
        (
            Column("Building", 2.4, "L"),
            Column("Model", 1.0, "L"),
            Column("CDD balance (degC)", 0.9, digits=1),
            Column("Days", 0.6),
            Column("R2", 0.6, digits=2),
            Column("CV(RMSE) monthly (%)", 1.0, digits=1),
            Column("NMBE monthly (%)", 0.9, digits=2),
            Column("Meets G14", 0.7, "C"),
        ),
        tuple(
            (
                f"{b.code} {b.name}",
                b.model_kind or b.status.value.replace("_", " "),
                _v(b.cdd_balance),
                b.baseline_days,
                _v(b.r2),
                _v(b.cv_rmse_monthly),
                _v(b.nmbe_monthly),
                b.meets_ashrae14,
            )
            for b in report.baselines
        ),
        tuple(b.meets_ashrae14 is False for b in report.baselines),
    )
    saved = Table(
        "Savings against the weather-adjusted baseline",
        (
            Column("Building", 2.2, "L"),
            Column("Adjusted baseline (kWh)", 1.1),
            Column("Actual (kWh)", 1.0),
            Column("Savings (kWh)", 1.0),
            Column("\u00b1 (kWh)", 0.9),
            Column("Savings (%)", 0.8, digits=1),
            Column("Significant", 1.05, "C"),
        ),
        tuple(
            (
                f"{b.code} {b.name}",
                _v(b.adjusted_baseline),
                _v(b.reporting),
                _v(b.savings),
                _v(b.uncertainty),
                _v(b.savings_pct),
                b.significant,
            )
            for b in report.baselines
        ),
        tuple(b.significant is False for b in report.baselines),
    )
    return fit, saved


def _progress_table(report: CommitteeReport) -> Table:
    return Table(
        f"Year to date, 1 January through {report.period.title}",
        (
            Column("Department", 2.4, "L"),
            Column("Area", 0.9, "L"),
            Column("Unit", 0.6, "L"),
            Column("Actual", 1.0),
            Column("Target to date", 1.0),
            Column("Full-year target", 1.0),
            Column("Forecast", 1.0),
            Column("Status", 0.8, "L"),
        ),
        tuple(
            (
                f"{p.department} {p.department_name}",
                p.area,
                p.actual.unit,
                _v(p.actual),
                _v(p.target_to_date),
                _v(p.target),
                _v(p.forecast),
                p.status.replace("_", " "),
            )
            for p in report.progress
        ),
        tuple(p.status in {"behind", "at_risk"} for p in report.progress),
        empty="No department has targets or consumption recorded for this year.",
    )


def _actions_table(report: CommitteeReport) -> Table:
    return Table(
        "Open action items",
        (
            Column("#", 0.4),
            Column("Action", 3.0, "L"),
            Column("Owner", 1.2, "L"),
            Column("Due", 0.9, "L"),
            Column("Overdue", 0.7, "C"),
            Column("Decided at", 2.0, "L"),
        ),
        tuple((i.id, i.description, i.owner, i.due_on, i.overdue, i.meeting) for i in report.action_items),
        tuple(i.overdue for i in report.action_items),
        empty="No open action items.",
    )


def _anomaly_table(report: CommitteeReport) -> Table:
    return Table(
        "Register anomalies",
        (
            Column("When (Asia/Taipei)", 1.3, "L"),
            Column("Meter", 1.5, "L"),
            Column("Kind", 1.1, "L"),
            Column("Before", 1.0),
            Column("After", 1.0),
            Column("Counted", 0.9),
            Column("Unit", 0.5, "L"),
        ),
        tuple(
            (
                _local(a.ts),
                a.device,
                a.kind.replace("_", " "),
                _v(a.before),
                _v(a.after),
                _v(a.counted),
                a.counted.unit,
            )
            for a in report.anomalies
        ),
        empty="No register anomalies in this period.",
    )


def sections(report: CommitteeReport) -> list[Section]:
    """The report's sections in reading order."""
    by_area: list[Table | ChartPlace] = []
    for s in report.areas:
        by_area.append(ChartPlace(f"area-{s.area.value}"))
        by_area += _consumption_tables(report, s.area)
    by_area.append(ChartPlace("daily-electricity"))
    weather = report.weather
    baseline_year = report.baselines[0].baseline_start.year if report.baselines else report.period.year - 1
    out = [
        Section(
            "Consumption by building and department",
            (
                f"{report.period.title} against {report.last_year.title}. A building's figure is the sum "
                "of its main meters, read from their cumulative registers (resets, rollovers and spikes "
                "handled; see the anomalies). Departments are not sub-metered: each gets the floor-area "
                "share of every building it occupies.",
            ),
            tuple(by_area),
        ),
        Section(
            "Energy performance indicators",
            (
                "ISO 50001 EnPIs per building over the period. Occupants are the capacity of offices and "
                "dormitory rooms; cooling degree-days are based on 24 degC"
                + (
                    f" from the outdoor sensor {weather.device}."
                    if weather.device
                    else " (no outdoor sensor)."
                ),
            ),
            (_enpi_table(report),),
        ),
        Section(
            "Weather-normalised baseline and savings",
            (
                f"A daily CalTRACK-style model per building (electricity against the day's mean outdoor "
                f"temperature), fitted on {baseline_year}, predicts what the building would have used in "
                f"{report.period.title}'s weather. Savings = adjusted baseline - actual, with ASHRAE "
                "Guideline 14's fractional savings uncertainty at 90 % confidence. A saving smaller than its "
                "uncertainty is not significant.",
            ),
            (ChartPlace("savings"), *_baseline_tables(report)),
        ),
        Section(
            "Conservation in four areas",
            (
                "Each department's electricity, water, fuel and paper use year to date against its target "
                "pro-rated to date; paper and bulk fuel come from monthly entries.",
            ),
            (ChartPlace("progress"), _progress_table(report)),
        ),
        Section(
            "Committee action items",
            (f"Items open at the end of {report.period.title}; overdue items are past their due date.",),
            (_actions_table(report),),
        ),
        Section(
            "Register anomalies",
            (
                "What the meters' registers did that is not plain counting. A reset counts the new "
                "register's reading; a spike counts nothing (the interval around it is counted once).",
            ),
            (_anomaly_table(report),),
        ),
    ]
    definitions = Table(
        "Indicator definitions",
        (Column("Key", 1.4, "L"), Column("Unit", 0.9, "L"), Column("Meaning", 3.5, "L")),
        tuple((d.key, d.unit, d.description) for d in report.enpi_definitions),
    )
    out.append(Section("Notes and definitions", report.notes, (definitions,)))
    return out
