"""The committee report as one self-contained HTML page (jinja2): tables, and the charts as inline SVG."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from cityhall.energy.periods import TAIPEI
from cityhall.reports.charts import Chart, report_charts
from cityhall.reports.content import CommitteeReport
from cityhall.reports.layout import Table, cell_text, key_figures, sections

TEMPLATES = Path(__file__).with_name("templates")


@cache
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]), trim_blocks=True
    )


def _table(table: Table) -> Markup:
    """A layout table as HTML (every value escaped)."""
    parts = [f"<h3>{escape(table.title)}</h3>"]
    if not table.rows:
        parts.append(f'<p class="empty">{escape(table.empty)}</p>')
        return Markup("".join(parts))  # noqa: S704 - built from escaped parts
    head = "".join(f'<th class="{c.align}">{escape(c.heading)}</th>' for c in table.columns)
    parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>")
    flags = table.flag or (False,) * len(table.rows)
    for values, flagged in zip(table.rows, flags, strict=True):
        cells = "".join(
            f'<td class="{c.align}">{escape(cell_text(v, c))}</td>'
            for v, c in zip(values, table.columns, strict=True)
        )
        parts.append(f'<tr class="flag">{cells}</tr>' if flagged else f"<tr>{cells}</tr>")
    parts.append("</tbody></table>")
    return Markup("".join(parts))  # noqa: S704 - built from escaped parts


def render_html(report: CommitteeReport, *, charts: Sequence[Chart] | None = None) -> str:
    """The report as a standalone HTML document (UTF-8 text)."""
    kind = "Monthly" if report.kind.value == "monthly" else "Quarterly"
    return (
        _environment()
        .get_template("report.html.j2")
        .render(
            report=report,
            title=f"Energy-conservation committee report, {report.period.title}",
            heading=f"{kind} energy-conservation committee report: {report.period.title}",
            generated=report.generated_at.astimezone(TAIPEI).strftime("%Y-%m-%d %H:%M"),
            key_figures=key_figures(report),
            sections=sections(report),
            charts={c.key: c for c in (charts if charts is not None else report_charts(report))},
            table=_table,
        )
    )
