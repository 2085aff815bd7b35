"""What a committee report says, as plain numbers: every figure carries its unit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from cityhall.energy.enpi import EnPIValue
from cityhall.energy.register import Area
from cityhall.reports.period import ReportKind, ReportPeriod

PCT = "%"


@dataclass(frozen=True, slots=True)
class Quantity:
    """A number and its unit; `value` is None when it cannot be computed (never a silent 0)."""

    value: float | None
    unit: str


def change_pct(current: float | None, previous: float | None) -> Quantity:
    """Change from `previous` to `current` in per cent (None without a non-zero previous figure)."""
    if current is None or not previous:
        return Quantity(None, PCT)
    return Quantity(100.0 * (current - previous) / previous, PCT)


@dataclass(frozen=True, slots=True)
class ConsumptionRow:
    """One building's or department's (or the portfolio's) use of an area, this year and last."""

    code: str
    name: str
    current: Quantity
    last_year: Quantity

    @property
    def change(self) -> Quantity:
        """This period against the same period last year, per cent."""
        return change_pct(self.current.value, self.last_year.value)


@dataclass(frozen=True, slots=True)
class DailySeries:
    """The portfolio's use per local day: day i of this period beside day i of last year's."""

    unit: str
    days: tuple[date, ...]
    current: tuple[float | None, ...]
    last_year: tuple[float | None, ...]


@dataclass(frozen=True, slots=True)
class AreaConsumption:
    """One area (electricity, water, fuel, solar) by building and department, and the portfolio total."""

    area: Area
    unit: str
    buildings: tuple[ConsumptionRow, ...]
    departments: tuple[ConsumptionRow, ...]
    total: ConsumptionRow
    daily: DailySeries


@dataclass(frozen=True, slots=True)
class BuildingEnPIs:
    """A building's energy performance indicators over the period (cityhall.energy.enpi)."""

    code: str
    name: str
    values: tuple[EnPIValue, ...]

    def value(self, key: str) -> EnPIValue:
        """The indicator with this key (KeyError if unknown)."""
        for v in self.values:
            if v.key == key:
                return v
        raise KeyError(key)


@dataclass(frozen=True, slots=True)
class EnPIDefinition:
    """What an indicator means, for the report's legend."""

    key: str
    unit: str
    description: str


@dataclass(frozen=True, slots=True)
class Weather:
    """Outdoor conditions the figures are normalised by (None without an outdoor sensor)."""

    device: str | None
    mean_temperature: Quantity
    cooling_degree_days: Quantity
    cooling_degree_days_last_year: Quantity


class BaselineStatus(StrEnum):
    """Why a building has, or has not, a baseline comparison."""

    FITTED = "fitted"
    NO_WEATHER = "no_weather"
    INSUFFICIENT_DATA = "insufficient_data"


@dataclass(frozen=True, slots=True)
class BuildingBaseline:
    """A building's weather-normalised electricity baseline, its fit (ASHRAE Guideline 14) and the savings."""

    code: str
    name: str
    area: Area
    unit: str
    baseline_start: datetime
    baseline_end: datetime
    status: BaselineStatus
    note: str
    model_kind: str | None = None
    baseline_days: int = 0
    intercept: Quantity = Quantity(None, "kWh/d")
    cdd_balance: Quantity = Quantity(None, "degC")
    cdd_slope: Quantity = Quantity(None, "kWh/(degC*d)")
    hdd_balance: Quantity = Quantity(None, "degC")
    hdd_slope: Quantity = Quantity(None, "kWh/(degC*d)")
    r2: Quantity = Quantity(None, "ratio")
    cv_rmse_daily: Quantity = Quantity(None, PCT)
    nmbe_daily: Quantity = Quantity(None, PCT)
    cv_rmse_monthly: Quantity = Quantity(None, PCT)
    nmbe_monthly: Quantity = Quantity(None, PCT)
    meets_ashrae14: bool | None = None  # judged on monthly totals: CV(RMSE) <= 15 %, |NMBE| <= 5 %
    reporting_days: int = 0
    adjusted_baseline: Quantity = Quantity(None, "kWh")
    reporting: Quantity = Quantity(None, "kWh")
    savings: Quantity = Quantity(None, "kWh")
    savings_pct: Quantity = Quantity(None, PCT)
    uncertainty: Quantity = Quantity(None, "kWh")  # +/- at `confidence`
    confidence: Quantity = Quantity(None, PCT)
    significant: bool | None = None


@dataclass(frozen=True, slots=True)
class Anomaly:
    """A register anomaly found while computing consumption (cityhall.energy.registers.RegisterEvent)."""

    device: str
    building: str
    area: Area
    ts: datetime
    kind: str
    before: Quantity
    after: Quantity
    counted: Quantity


@dataclass(frozen=True, slots=True)
class ProgressRow:
    """One department's progress in one of the four areas against its yearly target."""

    department: str
    department_name: str
    area: str
    metered: Quantity
    entered: Quantity
    actual: Quantity
    target: Quantity
    target_to_date: Quantity
    forecast: Quantity
    status: str

    @property
    def of_target_to_date(self) -> Quantity:
        """Actual as a share of the target to date, per cent (below 100 is on track)."""
        if self.actual.value is None or not self.target_to_date.value:
            return Quantity(None, PCT)
        return Quantity(100.0 * self.actual.value / self.target_to_date.value, PCT)


@dataclass(frozen=True, slots=True)
class ActionItemRow:
    """A committee action item still open at the end of the period; overdue when due by then."""

    id: int
    description: str
    owner: str
    due_on: date
    overdue: bool
    meeting: str


@dataclass(frozen=True, slots=True)
class CommitteeReport:
    """Everything a monthly or quarterly energy-conservation committee report shows."""

    kind: ReportKind
    period: ReportPeriod
    last_year: ReportPeriod
    generated_at: datetime
    areas: tuple[AreaConsumption, ...]
    enpis: tuple[BuildingEnPIs, ...]
    enpi_definitions: tuple[EnPIDefinition, ...]
    weather: Weather
    baselines: tuple[BuildingBaseline, ...]
    anomalies: tuple[Anomaly, ...]
    progress: tuple[ProgressRow, ...]
    action_items: tuple[ActionItemRow, ...]
    notes: tuple[str, ...]

    def area(self, area: Area) -> AreaConsumption:
        """The consumption section of one area (KeyError if the register has no meter of it)."""
        for section in self.areas:
            if section.area is area:
                return section
        raise KeyError(area)

    @property
    def overdue_items(self) -> tuple[ActionItemRow, ...]:
        """Open action items past their due date."""
        return tuple(item for item in self.action_items if item.overdue)
