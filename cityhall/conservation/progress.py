"""Progress of every department in the four areas (electricity, water, fuel, paper) against its targets.

Actual consumption, year to date (1 January through `through`, Asia/Taipei days, both included):
- *metered*: electricity, water and fuel from the meters' cumulative registers in the reading store (InfluxDB
  or the SQL readings table), at the department scope (a department gets its floor-area share of each
  building it occupies, `rollup.scope_series`); paper is never metered. Without a store (`store=None`)
  metered is 0.
- *entered*: monthly entries (paper, fuel bought in bulk). An entry covers its whole month evenly, so a
  `through` in the middle of a month counts that month's entries pro rata by day; at a month's end it counts
  them whole.

The full-year target is pro-rated to date by a *share of the year*:
- the baseline year's monthly profile, when the target names a baseline year whose every calendar month has
  data (a metered day or an entry) and whose total is positive: the share is the baseline's consumption in the
  months before `through`'s month, plus that month's pro rata by day, over the baseline's year total (so a
  summer-heavy electricity profile expects more of the target to be used by September than by days);
- otherwise by days: days from 1 January through `through`, over the days in the year.

`target_to_date = target x share`; `forecast = actual / share` (the year end at the current rate, with the
same share; None when nothing was metered or entered). Status: `on_track` when actual <= target to date (the
same as forecast <= target), `at_risk` when actual exceeds it by at most AT_RISK_MARGIN (5 %), `behind`
beyond that, `no_target` when the department has no target for the area and year.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from cityhall.energy.consumption import Resolution
from cityhall.energy.periods import TAIPEI
from cityhall.energy.register import Area, MeterRegister
from cityhall.energy.rollup import Scope, read_consumption, scope_series
from cityhall.models import AREA_UNITS, ConservationArea, ConservationTarget, ConsumptionEntry
from cityhall.timeseries import AggregatingStore

AT_RISK_MARGIN = 0.05  # actual up to 5 % above the target to date is "at risk"; more is "behind"
STATUSES = ("on_track", "at_risk", "behind", "no_target")

# The register area each metered conservation area is read from; paper has no meter.
METERED_AREAS: dict[ConservationArea, Area] = {
    ConservationArea.ELECTRICITY: Area.ELECTRICITY,
    ConservationArea.WATER: Area.WATER,
    ConservationArea.FUEL: Area.FUEL,
}
# (department, area) -> month number (1-12) -> amount in the area's unit
MonthlyAmounts = dict[tuple[str, ConservationArea], dict[int, float]]


@dataclass(frozen=True, slots=True)
class AreaProgress:
    """One department's consumption of one area, year to date, against its target (amounts in `unit`)."""

    department: str  # department code
    department_name: str
    area: str  # "electricity" | "water" | "fuel" | "paper"
    unit: str  # "kWh" | "m3" | "ream"
    year: int
    through: date  # last Asia/Taipei day counted
    metered: float  # from readings, year to date
    entered: float  # from monthly entries, year to date
    actual: float  # metered + entered
    target: float | None  # full-year target
    target_to_date: float | None
    forecast: float | None  # year-end, at the current rate
    status: str  # "on_track" | "at_risk" | "behind" | "no_target"


def year_start(year: int) -> date:
    """1 January of `year`."""
    return date(year, 1, 1)


def days_in_year(year: int) -> int:
    """365 or 366."""
    return 366 if calendar.isleap(year) else 365


def share_by_days(through: date) -> float:
    """The share of `through`'s year elapsed by the end of that day."""
    return ((through - year_start(through.year)).days + 1) / days_in_year(through.year)


def month_fraction(through: date) -> float:
    """The share of `through`'s month elapsed by the end of that day."""
    return through.day / calendar.monthrange(through.year, through.month)[1]


def to_date(monthly: Mapping[int, float], through: date) -> float:
    """A monthly series (month -> amount) through `through`: earlier months whole, its month pro rata."""
    whole = sum(amount for month, amount in monthly.items() if month < through.month)
    return whole + monthly.get(through.month, 0.0) * month_fraction(through)


def share_by_profile(profile: Mapping[int, float], through: date) -> float | None:
    """The share of the year used by `through` if the year ran like `profile` (month -> amount).

    None when the profile cannot be used: a month is missing or the total is not positive.
    """
    total = sum(profile.values())
    if set(profile) != set(range(1, 13)) or total <= 0:
        return None
    return to_date(profile, through) / total


def status_of(actual: float, target_to_date: float | None) -> str:
    """on_track | at_risk | behind against the target to date; no_target without one."""
    if target_to_date is None:
        return "no_target"
    if actual <= target_to_date * (1 + 1e-9):
        return "on_track"
    if actual <= target_to_date * (1 + AT_RISK_MARGIN):
        return "at_risk"
    return "behind"


def four_areas_progress(
    session: Session,
    store: AggregatingStore | None,
    register: MeterRegister,
    *,
    year: int,
    through: date,
) -> list[AreaProgress]:
    """Every department's progress in the four areas, year to date through `through` (clamped to the year).

    Departments are those of the register plus any with a target or an entry that year; rows are ordered by
    department code, then electricity, water, fuel, paper. ValueError if `through` is before the year.
    """
    if through < year_start(year):
        raise ValueError(f"through {through.isoformat()} is before the year {year}")
    through = min(through, date(year, 12, 31))
    targets = {
        (t.department_code, t.area): t
        for t in session.scalars(select(ConservationTarget).where(ConservationTarget.year == year))
    }
    entered = monthly_entries(session, year)
    departments = sorted(
        set(register.departments) | {d for d, _ in targets} | {d for d, _ in entered if d},
    )
    metered = metered_monthly(store, register, departments, year, through=through)

    baseline_years = {t.baseline_year for t in targets.values() if t.baseline_year is not None}
    profiles: dict[int, MonthlyAmounts] = {}
    for baseline_year in baseline_years:
        if baseline_year >= year:
            continue  # a baseline must be a past year; a target "against itself" is pro-rated by days
        base_metered = metered_monthly(store, register, departments, baseline_year)
        profiles[baseline_year] = _merged(base_metered, monthly_entries(session, baseline_year))

    rows: list[AreaProgress] = []
    for department in departments:
        known = register.departments.get(department)
        name = known.name if known is not None else department
        for area in ConservationArea:
            key = (department, area)
            metered_months = metered.get(key, {})
            entry_months = entered.get(key, {})
            metered_ytd = sum(metered_months.values())  # the readings already stop at `through`
            entered_ytd = to_date(entry_months, through)
            actual = metered_ytd + entered_ytd
            has_data = bool(metered_months) or any(m <= through.month for m in entry_months)

            target_row = targets.get(key)
            share: float | None = None
            if target_row is not None and target_row.baseline_year in profiles:
                profile = profiles[target_row.baseline_year].get(key, {})
                share = share_by_profile(profile, through)
            if share is None:
                share = share_by_days(through)
            target = target_row.target_amount if target_row is not None else None
            target_to_date = target * share if target is not None else None
            forecast = actual / share if has_data and share > 0 else None
            rows.append(
                AreaProgress(
                    department=department,
                    department_name=name,
                    area=area.value,
                    unit=AREA_UNITS[area],
                    year=year,
                    through=through,
                    metered=metered_ytd,
                    entered=entered_ytd,
                    actual=actual,
                    target=target,
                    target_to_date=target_to_date,
                    forecast=forecast,
                    status=status_of(actual, target_to_date),
                )
            )
    return rows


def monthly_entries(session: Session, year: int) -> MonthlyAmounts:
    """Entered amounts per (department, area) and month of `year`, summed over sources."""
    out: MonthlyAmounts = defaultdict(dict)
    rows = session.scalars(
        select(ConsumptionEntry).where(
            ConsumptionEntry.month >= date(year, 1, 1), ConsumptionEntry.month <= date(year, 12, 1)
        )
    )
    for entry in rows:
        months = out[(entry.department_code, entry.area)]
        months[entry.month.month] = months.get(entry.month.month, 0.0) + entry.amount
    return dict(out)


def metered_monthly(
    store: AggregatingStore | None,
    register: MeterRegister,
    departments: Iterable[str],
    year: int,
    *,
    through: date | None = None,
) -> MonthlyAmounts:
    """Metered consumption per (department, area) and Asia/Taipei month of `year`, through `through`.

    Only months with at least one metered day appear; departments unknown to the register have no meters.
    """
    out: MonthlyAmounts = {}
    known = [d for d in departments if d in register.departments]
    if store is None or not known:
        return out
    last = through if through is not None else date(year, 12, 31)
    since = datetime(year, 1, 1, tzinfo=TAIPEI)
    until = datetime.combine(last + timedelta(days=1), datetime.min.time(), tzinfo=TAIPEI)
    for area, register_area in METERED_AREAS.items():
        if not register.of_area(register_area):
            continue
        consumption = read_consumption(
            store, register, register_area, since=since, until=until, resolution=Resolution.DAY
        )
        for department in known:
            series = scope_series(consumption, register, Scope.DEPARTMENT, department)
            months: dict[int, float] = {}
            for ts, amount in series.items():
                month = ts.astimezone(TAIPEI).month
                months[month] = months.get(month, 0.0) + amount
            if months:
                out[(department, area)] = months
    return out


def _merged(*parts: MonthlyAmounts) -> MonthlyAmounts:
    out: MonthlyAmounts = defaultdict(dict)
    for part in parts:
        for key, months in part.items():
            for month, amount in months.items():
                out[key][month] = out[key].get(month, 0.0) + amount
    return dict(out)
