"""The committee report as PDF (fpdf2): A4, DejaVu Sans for Latin text, a system CJK font as fallback.

Names in the asset register carry Chinese in parentheses. matplotlib's bundled DejaVu Sans is the Latin font;
the first CJK TrueType font found on the system (Debian: fonts-wqy-microhei, see
scripts/install-system-deps.sh) is the fallback for the glyphs DejaVu lacks. Without one, the CJK parts are
dropped (`Main Building (行政大樓)` -> `Main Building`) rather than printed as empty boxes or crashing.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

import matplotlib
from fpdf import FPDF
from fpdf.enums import Align, XPos, YPos

from cityhall.energy.periods import TAIPEI
from cityhall.reports.charts import Chart, report_charts
from cityhall.reports.content import CommitteeReport
from cityhall.reports.layout import ChartPlace, Section, Table, cell_text, key_figures, sections
from cityhall.reports.text import has_cjk, latin

log = logging.getLogger(__name__)

# CJK TrueType fonts Debian installs, in order of preference (fpdf2 embeds the glyphs used, as a subset).
CJK_FONT_CANDIDATES = (
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
    Path("/usr/share/fonts/truetype/arphic/uming.ttc"),
    Path("/usr/share/fonts/truetype/arphic/ukai.ttc"),
    Path("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"),
)
_DEJAVU = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
FONT = "dejavu"
PAGE_WIDTH_MM = 180.0  # A4 less 15 mm margins
INK = (33, 37, 41)
ACCENT = (31, 95, 168)
SHADE = (236, 241, 248)
FLAG = (253, 236, 234)


def find_cjk_font() -> Path | None:
    """The first CJK font of CJK_FONT_CANDIDATES that is installed, or None."""
    return next((path for path in CJK_FONT_CANDIDATES if path.is_file()), None)


class _ReportPDF(FPDF):
    """A4 pages with the report's running header and a footer with page numbers."""

    def __init__(self, report: CommitteeReport, *, cjk_font: Path | None) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.report = report
        self.set_margins(15, 18, 15)
        self.set_auto_page_break(auto=True, margin=16)
        self.add_font(FONT, "", _DEJAVU / "DejaVuSans.ttf")
        self.add_font(FONT, "B", _DEJAVU / "DejaVuSans-Bold.ttf")
        self.add_font(FONT, "I", _DEJAVU / "DejaVuSans-Oblique.ttf")
        self.cjk = False
        if cjk_font is not None:
            try:
                self.add_font("cjk", "", cjk_font)
                self.set_fallback_fonts(["cjk"], exact_match=False)
                self.cjk = True
            except Exception:  # a font file fpdf2 cannot read: degrade, never fail the report
                log.exception("cjk_font_unusable", extra={"font": str(cjk_font)})
        self.set_title(f"Energy-conservation committee report, {report.period.title}")
        self.set_author("CityHall Ops, Tainan City Government Secretariat")
        self.set_creation_date(report.generated_at)
        self.set_text_color(*INK)

    def t(self, text: str) -> str:
        """The text as this document can print it."""
        return text if self.cjk else latin(text)

    def header(self) -> None:
        """Running header from page 2 on."""
        if self.page_no() == 1:
            return
        self.set_font(FONT, "", 7.5)
        self.set_text_color(110, 117, 125)
        self.cell(0, 5, f"Energy-conservation committee report \u00b7 {self.report.period.title}", align="L")
        self.ln(8)
        self.set_text_color(*INK)

    def footer(self) -> None:
        """Generation time and page numbers."""
        self.set_y(-12)
        self.set_font(FONT, "", 7.5)
        self.set_text_color(110, 117, 125)
        generated = self.report.generated_at.astimezone(TAIPEI).strftime("%Y-%m-%d %H:%M")
        self.cell(0, 5, f"CityHall Ops \u00b7 generated {generated} (Asia/Taipei)", align="L")
        self.cell(0, 5, f"page {self.page_no()} of {{nb}}", align="R", new_x=XPos.RIGHT)
        self.set_text_color(*INK)


def _heading(pdf: _ReportPDF, text: str, *, size: float = 13) -> None:
    if pdf.get_y() > pdf.page_break_trigger - 40:
        pdf.add_page()
    pdf.set_font(FONT, "B", size)
    pdf.set_text_color(*ACCENT)
    pdf.multi_cell(0, size * 0.5, pdf.t(text), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(*INK)
    pdf.ln(1.5)


def _paragraph(pdf: _ReportPDF, text: str) -> None:
    pdf.set_font(FONT, "", 9)
    pdf.multi_cell(0, 4.6, pdf.t(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)


_PAD_X, _PAD_Y = 1.0, 0.8  # cell padding, mm


def _cell_lines(pdf: _ReportPDF, text: str, width: float, line_height: float) -> list[str]:
    """The lines a cell's text takes in `width` mm: most fit on one line and need no line breaking."""
    if not has_cjk(text) and pdf.get_string_width(text) <= width:  # CJK widths come from the fallback font
        return [text]
    lines = pdf.multi_cell(width, line_height, text, dry_run=True, output="LINES")
    return [str(line) for line in lines] if isinstance(lines, list) and lines else [""]


def _table_row(
    pdf: _ReportPDF,
    texts: Sequence[str],
    widths: Sequence[float],
    aligns: Sequence[Align],
    *,
    line_height: float,
    fill: tuple[int, int, int] | None,
    repeat: Callable[[], None] | None,
) -> None:
    """One row: its cells' lines side by side, a rule below; a new page (and the heading row) if needed."""
    lines = [_cell_lines(pdf, t, w - 2 * _PAD_X, line_height) for t, w in zip(texts, widths, strict=True)]
    height = max(len(cell) for cell in lines) * line_height + 2 * _PAD_Y
    if pdf.get_y() + height > pdf.page_break_trigger:
        pdf.add_page()
        if repeat is not None:
            repeat()
    x0, y0 = pdf.l_margin, pdf.get_y()
    if fill is not None:
        pdf.set_fill_color(*fill)
        pdf.rect(x0, y0, sum(widths), height, style="F")
    x = x0
    for cell, width, align in zip(lines, widths, aligns, strict=True):
        for i, line in enumerate(cell):
            pdf.set_xy(x + _PAD_X, y0 + _PAD_Y + i * line_height)
            pdf.cell(width - 2 * _PAD_X, line_height, line, align=align)
        x += width
    pdf.set_draw_color(120, 126, 134)
    pdf.line(x0, y0 + height, x0 + sum(widths), y0 + height)
    pdf.set_xy(x0, y0 + height)


def _table(pdf: _ReportPDF, table: Table, *, size: float = 7.5) -> None:
    """A table with a shaded heading row (repeated on each page it runs onto) and flagged rows tinted.

    Drawn cell by cell: fpdf2's table() breaks every cell's text twice, which made it most of the PDF's time.
    """
    _heading(pdf, table.title, size=10)
    if not table.rows:
        pdf.set_font(FONT, "I", 8.5)
        pdf.multi_cell(0, 4.5, pdf.t(table.empty), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(3)
        return
    total = sum(c.width for c in table.columns)
    widths = [PAGE_WIDTH_MM * c.width / total for c in table.columns]
    aligns = [Align.L if c.align == "L" else Align.C if c.align == "C" else Align.R for c in table.columns]
    line_height = size * 0.5

    def heading_row() -> None:
        pdf.set_font(FONT, "B", size)
        heads = [pdf.t(c.heading) for c in table.columns]
        _table_row(pdf, heads, widths, aligns, line_height=line_height, fill=SHADE, repeat=None)
        pdf.set_font(FONT, "", size)

    if pdf.get_y() + 3 * line_height + 4 * _PAD_Y > pdf.page_break_trigger:
        pdf.add_page()  # never a heading row alone at the foot of a page
    heading_row()
    flags = table.flag or (False,) * len(table.rows)
    for values, flagged in zip(table.rows, flags, strict=True):
        texts = [pdf.t(cell_text(v, c)) for v, c in zip(values, table.columns, strict=True)]
        _table_row(
            pdf,
            texts,
            widths,
            aligns,
            line_height=line_height,
            fill=FLAG if flagged else None,
            repeat=heading_row,
        )
    pdf.ln(4)


def _chart(pdf: _ReportPDF, chart: Chart) -> None:
    from PIL import Image  # noqa: PLC0415 - matplotlib's own dependency, only needed here

    with Image.open(io.BytesIO(chart.png)) as image:
        width_px, height_px = image.size
    height = PAGE_WIDTH_MM * height_px / width_px
    if pdf.get_y() + height > pdf.page_break_trigger:
        pdf.add_page()
    pdf.image(io.BytesIO(chart.png), x=pdf.l_margin, w=PAGE_WIDTH_MM, h=height, alt_text=chart.title)
    pdf.ln(3)


def _cover(pdf: _ReportPDF, report: CommitteeReport) -> None:
    pdf.add_page()
    pdf.set_font(FONT, "", 9)
    pdf.set_text_color(110, 117, 125)
    pdf.cell(
        0,
        5,
        pdf.t("Tainan City Government \u00b7 Secretariat (臺南市政府秘書處)"),
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.ln(2)
    pdf.set_text_color(*ACCENT)
    pdf.set_font(FONT, "B", 20)
    kind = "Monthly" if report.kind.value == "monthly" else "Quarterly"
    pdf.multi_cell(
        0, 9, f"{kind} energy-conservation committee report", align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT
    )
    pdf.set_font(FONT, "B", 15)
    pdf.cell(0, 9, pdf.t(f"{report.period.title} (節能委員會報告)"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(*INK)
    pdf.set_font(FONT, "", 9)
    start, end = report.period.start, report.period.end
    pdf.multi_cell(
        0,
        4.6,
        f"Period {start:%Y-%m-%d} to {end:%Y-%m-%d} (Asia/Taipei, end exclusive), compared with "
        f"{report.last_year.title}. Figures are computed from the meters' registers and the "
        "committee's records; every number carries its unit.",
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.ln(4)
    _table(pdf, key_figures(report), size=8.5)


def _section(pdf: _ReportPDF, number: int, section: Section, charts: dict[str, Chart]) -> None:
    _heading(pdf, f"{number}. {section.title}")
    for text in section.paragraphs:
        _paragraph(pdf, text)
    for block in section.blocks:
        if isinstance(block, ChartPlace):
            if block.key in charts:
                _chart(pdf, charts[block.key])
        else:
            _table(pdf, block)


def render_pdf(
    report: CommitteeReport,
    *,
    charts: Sequence[Chart] | None = None,
    cjk_font: Path | Literal["auto"] | None = "auto",
) -> bytes:
    """The report as a PDF; `cjk_font` "auto" finds one on the system, None drops the CJK parts of names."""
    font = find_cjk_font() if cjk_font == "auto" else cjk_font
    pdf = _ReportPDF(report, cjk_font=font)
    by_key = {c.key: c for c in (charts if charts is not None else report_charts(report))}
    _cover(pdf, report)
    for number, section in enumerate(sections(report), start=1):
        if number in {1, 3}:
            pdf.add_page()
        _section(pdf, number, section, by_key)
    return bytes(pdf.output())
