"""Four-area targets per department and year, and monthly entries of consumption no meter counts.

Amounts arrive in any unit `cityhall.units.to_amount_unit` converts into the area's unit (sheets or boxes of
paper into reams, litres of fuel into m3, MWh into kWh) and are stored in the area's unit. An entry's key is
(department, area, month, source): posting the same key again replaces the amount, so re-sending a month's
invoices is safe; a re-post that changes nothing writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cityhall.audit import add_created, audited, record, snapshot
from cityhall.db import utcnow
from cityhall.energy.periods import TAIPEI
from cityhall.energy.register import MeterRegister
from cityhall.errors import ConflictError, InvalidInputError, NotFoundError
from cityhall.models import AREA_UNITS, ConservationArea, ConservationTarget, ConsumptionEntry
from cityhall.units import UnitError, to_amount_unit

Loc = tuple[str | int, ...]


def check_department(register: MeterRegister, code: str, *, loc: Loc) -> None:
    """422 naming the field unless the asset register knows the department."""
    if code not in register.departments:
        known = ", ".join(sorted(register.departments)) or "none registered"
        raise InvalidInputError("unknown_department", f"no department {code!r} (known: {known})", loc=loc)


def in_area_unit(area: ConservationArea, amount: float, unit: str, *, loc: Loc) -> float:
    """`amount` in `unit` converted into the area's unit; 422 naming the unit field if it cannot be."""
    try:
        return to_amount_unit(amount, unit, AREA_UNITS[area])
    except UnitError as err:
        raise InvalidInputError("bad_unit", f"{area.value}: {err}", loc=loc) from err


def today() -> date:
    """Today in Asia/Taipei."""
    return utcnow().astimezone(TAIPEI).date()


# --- targets ---


@dataclass(frozen=True, slots=True)
class TargetValues:
    """A target as given: amounts in `unit` (converted into the area's unit on the way in)."""

    target_amount: float
    unit: str
    baseline_amount: float | None = None
    baseline_year: int | None = None
    note: str = ""


def _checked(area: ConservationArea, year: int, values: TargetValues) -> tuple[float, float | None]:
    target = in_area_unit(area, values.target_amount, values.unit, loc=("body", "unit"))
    baseline = None
    if values.baseline_amount is not None:
        if values.baseline_year is None:
            raise InvalidInputError(
                "baseline_year_missing",
                "a baseline amount needs the year it was measured in",
                loc=("body", "baseline_year"),
            )
        baseline = in_area_unit(area, values.baseline_amount, values.unit, loc=("body", "unit"))
    if values.baseline_year is not None and values.baseline_year >= year:
        raise InvalidInputError(
            "baseline_not_before_target",
            f"the baseline year must be before {year}",
            loc=("body", "baseline_year"),
        )
    return target, baseline


def create_target(
    session: Session,
    *,
    register: MeterRegister,
    department_code: str,
    year: int,
    area: ConservationArea,
    values: TargetValues,
    actor: str,
) -> ConservationTarget:
    """A department's target for an area and year; 409 when one exists (update it instead)."""
    check_department(register, department_code, loc=("body", "department_code"))
    target, baseline = _checked(area, year, values)
    exists = session.scalars(
        select(ConservationTarget.id).where(
            ConservationTarget.department_code == department_code,
            ConservationTarget.year == year,
            ConservationTarget.area == area,
        )
    ).first()
    if exists is not None:
        raise ConflictError(
            "target_exists",
            f"{department_code} has a {area.value} target for {year} already (target {exists}); update it",
            loc=("body", "area"),
        )
    now = utcnow()
    row = ConservationTarget(
        department_code=department_code,
        year=year,
        area=area,
        target_amount=target,
        unit=AREA_UNITS[area],
        baseline_amount=baseline,
        baseline_year=values.baseline_year,
        note=values.note,
        created_by=actor,
        created_at=now,
        updated_at=now,
    )
    add_created(session, row, entity="conservation_target", actor=actor)
    return row


def get_target(session: Session, target_id: int) -> ConservationTarget:
    """A target by id, or 404."""
    row = session.get(ConservationTarget, target_id)
    if row is None:
        raise NotFoundError("target_not_found", f"no target {target_id}", loc=("path", "target_id"))
    return row


def update_target(
    session: Session, *, row: ConservationTarget, values: TargetValues, actor: str
) -> ConservationTarget:
    """Replace a target's amounts, baseline and note."""
    target, baseline = _checked(row.area, row.year, values)
    with audited(session, row, entity="conservation_target", action="update", actor=actor):
        row.target_amount = target
        row.baseline_amount = baseline
        row.baseline_year = values.baseline_year
        row.note = values.note
        row.updated_at = utcnow()
        session.flush()
    return row


def delete_target(session: Session, *, row: ConservationTarget, actor: str) -> None:
    """Remove a target (audited with its last values)."""
    record(
        session,
        actor=actor,
        action="delete",
        entity="conservation_target",
        entity_id=row.id,
        before=snapshot(row),
        after=None,
    )
    session.delete(row)
    session.flush()


# --- monthly entries ---


@dataclass(frozen=True, slots=True)
class EntryValues:
    """One month's consumption of a department and area from one source, as typed."""

    department_code: str
    area: ConservationArea
    month: date  # any day of the month
    amount: float
    unit: str
    source: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class Posted:
    """The entry after a post, and whether it was new, replaced an earlier amount, or changed nothing."""

    entry: ConsumptionEntry
    outcome: str  # created | replaced | unchanged


def post_entry(session: Session, *, register: MeterRegister, values: EntryValues, actor: str) -> Posted:
    """Create the entry for its key, or replace the one there (idempotent; audited when it changes)."""
    check_department(register, values.department_code, loc=("body", "department_code"))
    month = values.month.replace(day=1)
    if month > today().replace(day=1):
        raise InvalidInputError(
            "month_in_future", "enter a month once it has begun (Asia/Taipei)", loc=("body", "month")
        )
    amount = in_area_unit(values.area, values.amount, values.unit, loc=("body", "unit"))
    source = values.source.strip()
    if not source:
        raise InvalidInputError(
            "source_missing", "name the source (e.g. purchase invoice)", loc=("body", "source")
        )
    existing = _entry_for(session, values.department_code, values.area, month, source)
    if existing is None:
        entry = ConsumptionEntry(
            department_code=values.department_code,
            area=values.area,
            month=month,
            amount=amount,
            unit=AREA_UNITS[values.area],
            entered_amount=values.amount,
            entered_unit=values.unit,
            source=source,
            note=values.note,
            entered_by=actor,
            entered_at=utcnow(),
        )
        try:
            with session.begin_nested():
                add_created(session, entry, entity="conservation_entry", actor=actor)
            return Posted(entry, "created")
        except IntegrityError:
            # A concurrent post of the same key won the insert; this post replaces it like any re-post.
            existing = _entry_for(session, values.department_code, values.area, month, source)
            if existing is None:
                raise
    same = (existing.entered_amount, existing.entered_unit, existing.note) == (
        values.amount,
        values.unit,
        values.note,
    )
    if same:
        return Posted(existing, "unchanged")
    with audited(session, existing, entity="conservation_entry", action="replace", actor=actor):
        existing.amount = amount
        existing.entered_amount = values.amount
        existing.entered_unit = values.unit
        existing.note = values.note
        existing.entered_by = actor
        existing.entered_at = utcnow()
        session.flush()
    return Posted(existing, "replaced")


def _entry_for(
    session: Session, department_code: str, area: ConservationArea, month: date, source: str
) -> ConsumptionEntry | None:
    return session.scalars(
        select(ConsumptionEntry).where(
            ConsumptionEntry.department_code == department_code,
            ConsumptionEntry.area == area,
            ConsumptionEntry.month == month,
            ConsumptionEntry.source == source,
        )
    ).one_or_none()


def get_entry(session: Session, entry_id: int) -> ConsumptionEntry:
    """An entry by id, or 404."""
    row = session.get(ConsumptionEntry, entry_id)
    if row is None:
        raise NotFoundError("entry_not_found", f"no entry {entry_id}", loc=("path", "entry_id"))
    return row


def delete_entry(session: Session, *, row: ConsumptionEntry, actor: str) -> None:
    """Remove an entry (audited with its last values)."""
    record(
        session,
        actor=actor,
        action="delete",
        entity="conservation_entry",
        entity_id=row.id,
        before=snapshot(row),
        after=None,
    )
    session.delete(row)
    session.flush()
