"""Monthly entries from a CSV file: one row per department, area, month and source, as departments keep them.

Each row goes through `post_entry`, so a row is created, replaces the figure stored for its key, or changes
nothing; importing the same file twice changes nothing. Valid rows are kept; each bad row is reported with
its line and the column at fault, and fixing the file and importing it again is safe.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.orm import Session

from cityhall.conservation.targets import EntryValues, post_entry
from cityhall.energy.register import MeterRegister
from cityhall.errors import DomainError, InvalidInputError
from cityhall.models import ConservationArea

COLUMNS = ("department", "area", "month", "amount", "unit", "source")  # required; `note` is optional
MAX_ROWS = 5000
_FIELD_COLUMN = {"department_code": "department"}  # post_entry's field names -> the file's columns


@dataclass(frozen=True, slots=True)
class RowProblem:
    """Why one line of the file was not imported."""

    line: int
    column: str
    message: str


@dataclass(slots=True)
class ImportReport:
    """What an import did: rows created, replaced and unchanged, and the rows refused."""

    created: int = 0
    replaced: int = 0
    unchanged: int = 0
    problems: list[RowProblem] = field(default_factory=list)

    @property
    def rows(self) -> int:
        """Rows read (blank lines excepted)."""
        return self.created + self.replaced + self.unchanged + len({p.line for p in self.problems})


@dataclass(frozen=True, slots=True)
class _Row:
    line: int
    cells: dict[str, str]


def read_rows(text: str) -> list[_Row]:
    """The file's data rows, by line; raises InvalidInputError (field `file`) for a bad header or size."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [(h or "").strip().lower() for h in reader.fieldnames or []]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise InvalidInputError(
            "missing_columns",
            f"the CSV header lacks {', '.join(missing)} (columns: {', '.join(COLUMNS)}, note)",
            loc=("body", "file"),
        )
    rows = []
    for raw in reader:
        cells = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items() if isinstance(v, str)}
        if not any(cells.values()):
            continue
        rows.append(_Row(reader.line_num, cells))
        if len(rows) > MAX_ROWS:
            raise InvalidInputError(
                "too_many_rows", f"at most {MAX_ROWS} rows per file", loc=("body", "file")
            )
    return rows


def _values(row: _Row) -> EntryValues:
    cells = row.cells
    try:
        area = ConservationArea(cells["area"].lower())
    except ValueError:
        known = ", ".join(a.value for a in ConservationArea)
        raise InvalidInputError("bad_area", f"area must be one of {known}", loc=("area",)) from None
    try:
        year, month = (int(part) for part in cells["month"].split("-")[:2])
        first = date(year, month, 1)
    except ValueError:
        raise InvalidInputError("bad_month", "month must be YYYY-MM, e.g. 2026-10", loc=("month",)) from None
    try:
        amount = float(cells["amount"].replace(",", ""))
    except ValueError:
        raise InvalidInputError("bad_amount", "amount must be a number", loc=("amount",)) from None
    if not amount >= 0 or amount == float("inf"):
        raise InvalidInputError("bad_amount", "amount must be zero or more", loc=("amount",))
    return EntryValues(
        department_code=cells["department"],
        area=area,
        month=first,
        amount=amount,
        unit=cells["unit"],
        source=cells["source"],
        note=cells.get("note", ""),
    )


def import_entries(
    session: Session,
    *,
    register: MeterRegister,
    text: str,
    actor: str,
    on_row: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import every valid row (each in its own savepoint); report the others. `on_row(n)` after each row."""
    report = ImportReport()
    rows = read_rows(text)
    for n, row in enumerate(rows, start=1):
        try:
            with session.begin_nested():
                posted = post_entry(session, register=register, values=_values(row), actor=actor)
        except DomainError as err:
            name = str(err.loc[-1]) if err.loc else "row"
            report.problems.append(RowProblem(row.line, _FIELD_COLUMN.get(name, name), err.message))
        else:
            setattr(report, posted.outcome, getattr(report, posted.outcome) + 1)
        if on_row is not None:
            on_row(n)
    return report
