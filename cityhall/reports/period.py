"""Report periods: an Asia/Taipei calendar month (`2026-10`) or quarter (`2026Q3`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from cityhall.energy.periods import TAIPEI, Period, next_period, period_start
from cityhall.errors import InvalidInputError
from cityhall.models.reports import ReportKind

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_QUARTER = re.compile(r"^(\d{4})Q([1-4])$")
MIN_YEAR, MAX_YEAR = 2000, 2100
__all__ = ["ReportKind", "ReportPeriod", "period_before", "report_period"]


@dataclass(frozen=True, slots=True)
class ReportPeriod:
    """A reporting period [start, end) in Asia/Taipei, and its label (`2026-10`, `2026Q3`)."""

    kind: ReportKind
    label: str
    start: datetime
    end: datetime

    @property
    def year(self) -> int:
        """The calendar year the period lies in."""
        return self.start.year

    @property
    def days(self) -> int:
        """Local days in the period."""
        return (self.end.date() - self.start.date()).days

    @property
    def title(self) -> str:
        """How people name the period: `October 2026`, `Q3 2026 (July-September)`."""
        if self.kind is ReportKind.MONTHLY:
            return self.start.strftime("%B %Y")
        last = self.end.replace(month=self.end.month - 1 or 12)
        return f"Q{(self.start.month - 1) // 3 + 1} {self.year} ({self.start:%B}-{last:%B})"

    def last_year(self) -> ReportPeriod:
        """The same period one year earlier."""
        return report_period(self.kind, _label(self.kind, self.year - 1, self.start.month))


def _label(kind: ReportKind, year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}" if kind is ReportKind.MONTHLY else f"{year:04d}Q{(month - 1) // 3 + 1}"


def report_period(kind: ReportKind, label: str) -> ReportPeriod:
    """Parse `2026-10` (monthly) or `2026Q3` (quarterly); InvalidInputError for anything else."""
    pattern, example = (_MONTH, "2026-10") if kind is ReportKind.MONTHLY else (_QUARTER, "2026Q3")
    found = pattern.match(label.strip().upper())
    if found is None:
        raise InvalidInputError(
            "invalid_period", f"a {kind.value} period looks like {example}, not {label!r}", loc=("period",)
        )
    year, part = int(found.group(1)), int(found.group(2))
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise InvalidInputError(
            "invalid_period", f"the year must be between {MIN_YEAR} and {MAX_YEAR}", loc=("period",)
        )
    month = part if kind is ReportKind.MONTHLY else 3 * part - 2
    start = datetime(year, month, 1, tzinfo=TAIPEI)
    end = next_period(start, Period.MONTH)
    if kind is ReportKind.QUARTERLY:
        end = next_period(next_period(end, Period.MONTH), Period.MONTH)
    return ReportPeriod(kind, _label(kind, year, month), start, end)


def period_before(kind: ReportKind, now: datetime) -> ReportPeriod:
    """The last whole month or quarter before `now` (Asia/Taipei)."""
    this_month = period_start(now, Period.MONTH)
    if kind is ReportKind.MONTHLY:
        year, month = (
            (this_month.year, this_month.month - 1) if this_month.month > 1 else (this_month.year - 1, 12)
        )
        return report_period(kind, _label(kind, year, month))
    quarter_month = 3 * ((this_month.month - 1) // 3) + 1  # first month of the current quarter
    year, month = (this_month.year, quarter_month - 3) if quarter_month > 1 else (this_month.year - 1, 10)
    return report_period(kind, _label(kind, year, month))
