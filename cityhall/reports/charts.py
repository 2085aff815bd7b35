"""The report's charts, drawn with matplotlib (Agg, no pyplot state): PNG for the PDF, SVG for the HTML.

Each chart has a title, axis labels with units, and this period beside the same period last year where there
is one. Names are drawn without their CJK part: matplotlib's bundled DejaVu Sans has no CJK glyphs, and the
tables beside the charts carry the full names.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from matplotlib import rc_context
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from cityhall.reports.content import AreaConsumption, CommitteeReport
from cityhall.reports.text import latin

THIS_YEAR = "#1f5fa8"
LAST_YEAR = "#b8c4d6"
SAVED = "#2e8b57"
OVER = "#c0392b"
MAX_BARS = 15  # more buildings than this: the largest, the tables have the rest
_RC: dict[Any, Any] = {
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "svg.fonttype": "none",  # text stays text in the HTML: searchable, small
    "svg.hashsalt": "cityhall-report",  # stable element ids, so the same report gives the same HTML
}


@dataclass(frozen=True, slots=True)
class Chart:
    """One chart in both forms."""

    key: str
    title: str
    png: bytes
    svg: str


def _thousands(value: float, _pos: object) -> str:
    return f"{value:,.0f}"


def _short(name: str, width: int = 34) -> str:
    text = latin(name) or name
    return text if len(text) <= width else text[: width - 1] + "\u2026"


def _render(key: str, title: str, fig: Figure, *, dpi: int) -> Chart:
    png, svg = io.BytesIO(), io.StringIO()
    # Lay the figure out once for both files (constrained layout would run again on every save).
    engine = fig.get_layout_engine()
    if engine is not None:
        engine.execute(fig)
        fig.set_layout_engine("none")
    fig.savefig(png, format="png", dpi=dpi, metadata={"Software": None})
    fig.savefig(svg, format="svg", metadata={"Date": None, "Creator": None})
    text = svg.getvalue()
    return Chart(key, title, png.getvalue(), text[text.index("<svg") :])


def area_chart(section: AreaConsumption, report: CommitteeReport, *, dpi: int) -> Chart | None:
    """Consumption by building, this period beside the same period last year (horizontal bars)."""
    rows = sorted(section.buildings, key=lambda r: r.current.value or 0.0, reverse=True)[:MAX_BARS]
    if not rows:
        return None
    area = section.area.value.capitalize()
    title = f"{area} by building: {report.period.title} vs {report.last_year.title}"
    with rc_context(_RC):
        fig = Figure(figsize=(7.0, 1.2 + 0.42 * len(rows)), layout="constrained")
        ax = fig.add_subplot()
        ys = list(range(len(rows)))[::-1]
        height = 0.38
        ax.barh(
            [y + height / 2 for y in ys],
            [r.current.value or 0.0 for r in rows],
            height,
            color=THIS_YEAR,
            label=report.period.title,
        )
        ax.barh(
            [y - height / 2 for y in ys],
            [r.last_year.value or 0.0 for r in rows],
            height,
            color=LAST_YEAR,
            label=report.last_year.title,
        )
        ax.set_yticks(ys, [_short(r.name) for r in rows])
        ax.set_xlabel(f"{area} ({section.unit})")
        if max(max(r.current.value or 0.0, r.last_year.value or 0.0) for r in rows) >= 100:
            ax.xaxis.set_major_formatter(FuncFormatter(_thousands))
        fig.suptitle(title, x=0.01, ha="left", fontweight="bold", fontsize=10)
        fig.legend(loc="outside lower center", ncols=2, frameon=False)
        ax.grid(axis="x", alpha=0.3)
        return _render(f"area-{section.area.value}", title, fig, dpi=dpi)


def daily_chart(section: AreaConsumption, report: CommitteeReport, *, dpi: int) -> Chart | None:
    """The portfolio's use per day, this period's day i beside last year's day i."""
    daily = section.daily
    if not any(v is not None for v in daily.current):
        return None
    area = section.area.value.capitalize()
    title = f"Daily {section.area.value}, all buildings: {report.period.title} vs {report.last_year.title}"
    with rc_context(_RC):
        fig = Figure(figsize=(7.0, 3.0), layout="constrained")
        ax = fig.add_subplot()
        days = list(range(1, len(daily.days) + 1))
        for values, color, label in (
            (daily.last_year, LAST_YEAR, report.last_year.title),
            (daily.current, THIS_YEAR, report.period.title),
        ):
            points = [v if v is not None else float("nan") for v in values]
            ax.plot(days, points, color=color, lw=2, label=label)
        ax.set_xlabel(f"Day of the period (day 1 = {daily.days[0]:%d %b})")
        ax.set_ylabel(f"{area} ({daily.unit}/day)")
        if max((v or 0.0 for v in (*daily.current, *daily.last_year)), default=0.0) >= 100:
            ax.yaxis.set_major_formatter(FuncFormatter(_thousands))
        ax.set_xlim(1, max(days[-1], 2))
        ax.set_ylim(bottom=0)
        fig.suptitle(title, x=0.01, ha="left", fontweight="bold", fontsize=10)
        fig.legend(loc="outside lower center", ncols=2, frameon=False)
        ax.grid(alpha=0.3)
        return _render(f"daily-{section.area.value}", title, fig, dpi=dpi)


def savings_chart(report: CommitteeReport, *, dpi: int) -> Chart | None:
    """Weather-normalised savings per building in per cent, with their uncertainty as error bars."""
    rows = [b for b in report.baselines if b.savings_pct.value is not None and b.adjusted_baseline.value]
    rows = sorted(rows, key=lambda b: b.savings_pct.value or 0.0, reverse=True)[:MAX_BARS]
    if not rows:
        return None
    year = rows[0].baseline_start.year
    confidence = rows[0].confidence.value or 90.0
    title = f"Electricity savings against the {year} baseline, {report.period.title}"
    with rc_context(_RC):
        fig = Figure(figsize=(7.0, 1.3 + 0.42 * len(rows)), layout="constrained")
        ax = fig.add_subplot()
        ys = list(range(len(rows)))[::-1]
        pct = [b.savings_pct.value or 0.0 for b in rows]
        err = [100.0 * (b.uncertainty.value or 0.0) / (b.adjusted_baseline.value or 1.0) for b in rows]
        ax.barh(
            ys,
            pct,
            0.6,
            xerr=err,
            capsize=3,
            color=[SAVED if p >= 0 else OVER for p in pct],
            ecolor="#333333",
        )
        ax.axvline(0, color="#333333", lw=0.8)
        ax.set_yticks(ys, [_short(b.name) for b in rows])
        ax.set_xlabel(
            f"Savings (% of the weather-adjusted baseline; bars: \u00b1 uncertainty at {confidence:.0f} %)"
        )
        fig.suptitle(title, x=0.01, ha="left", fontweight="bold", fontsize=10)
        ax.grid(axis="x", alpha=0.3)
        return _render("savings", title, fig, dpi=dpi)


def progress_chart(report: CommitteeReport, *, dpi: int) -> Chart | None:
    """Each department's use to date as a share of its target to date, per area (100 % = on target)."""
    rows = [p for p in report.progress if p.of_target_to_date.value is not None][: 2 * MAX_BARS]
    if not rows:
        return None
    title = f"Four areas: use to date as % of the target to date, through {report.period.title}"
    with rc_context(_RC):
        fig = Figure(figsize=(7.0, 1.3 + 0.36 * len(rows)), layout="constrained")
        ax = fig.add_subplot()
        ys = list(range(len(rows)))[::-1]
        share = [p.of_target_to_date.value or 0.0 for p in rows]
        ax.barh(ys, share, 0.6, color=[SAVED if s <= 100 else OVER for s in share])
        ax.axvline(100, color="#333333", lw=1, ls="--")
        ax.set_yticks(ys, [f"{p.department} {p.area}" for p in rows])
        ax.set_xlabel("Use to date (% of the target to date; right of the dashed line is over target)")
        fig.suptitle(title, x=0.01, ha="left", fontweight="bold", fontsize=10)
        ax.grid(axis="x", alpha=0.3)
        return _render("progress", title, fig, dpi=dpi)


def report_charts(report: CommitteeReport, *, dpi: int = 150) -> list[Chart]:
    """Every chart of the report, in the order the report shows them."""
    charts: list[Chart | None] = [area_chart(s, report, dpi=dpi) for s in report.areas]
    charts += [daily_chart(s, report, dpi=dpi) for s in report.areas if s.area.value == "electricity"]
    charts += [savings_chart(report, dpi=dpi), progress_chart(report, dpi=dpi)]
    return [c for c in charts if c is not None]
