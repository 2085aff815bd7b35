"""Energy performance indicators (ISO 50001 / 50006 EnPIs) per building, each described once as data."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

import holidays

from cityhall.energy.consumption import Resolution
from cityhall.energy.periods import TAIPEI
from cityhall.energy.register import Area, BuildingInfo, MeterRegister
from cityhall.energy.rollup import Scope, Series, read_consumption, scope_series
from cityhall.energy.weather import cooling_degree_days
from cityhall.timeseries import AggregatingStore

NIGHT_HOURS = range(6)  # 00:00-06:00 local: nobody works, what runs is baseload
WORKING_HOURS = range(8, 17)  # 08:00-17:00 on working days
DEMAND_INTERVAL = timedelta(minutes=15)  # Taipower bills demand as the highest 15-minute mean


@dataclass(frozen=True, slots=True)
class EnPIInputs:
    """The measured figures of one building over one period that every indicator is computed from."""

    building: BuildingInfo
    electricity_kwh: float
    water_m3: float
    solar_kwh: float
    hourly_kwh: Series
    peak_demand_kw: float | None
    cooling_degree_days: float | None


@dataclass(frozen=True, slots=True)
class EnPI:
    """One indicator: its key, unit, meaning and how it is computed (None when it cannot be)."""

    key: str
    unit: str
    description: str
    value: Callable[[EnPIInputs], float | None]


@dataclass(frozen=True, slots=True)
class EnPIValue:
    """An indicator's value for one building and period."""

    key: str
    unit: str
    value: float | None


def _per(numerator: float, denominator: float | None) -> float | None:
    return numerator / denominator if denominator else None


@cache
def _taiwan_holidays(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("TW", years=year)


def _is_working_day(local: datetime) -> bool:
    return local.weekday() < 5 and local.date() not in _taiwan_holidays(local.year)


def _mean_kw(hourly_kwh: Series, keep: Callable[[datetime], bool]) -> float | None:
    """Mean power (kW) over the hours `keep` selects: an hour's kWh is its mean kW."""
    values = [kwh for ts, kwh in hourly_kwh.items() if keep(ts.astimezone(TAIPEI))]
    return sum(values) / len(values) if values else None


def _working(local: datetime) -> bool:
    return local.hour in WORKING_HOURS and _is_working_day(local)


def _baseload_ratio(inputs: EnPIInputs, keep: Callable[[datetime], bool]) -> float | None:
    base = _mean_kw(inputs.hourly_kwh, keep)
    working = _mean_kw(inputs.hourly_kwh, _working)
    return None if base is None or not working else base / working


ENPIS: tuple[EnPI, ...] = (
    EnPI("electricity_kwh", "kWh", "electricity from the grid (main meters)", lambda i: i.electricity_kwh),
    EnPI(
        "kwh_per_m2",
        "kWh/m2",
        "electricity per m2 of gross floor area",
        lambda i: _per(i.electricity_kwh, i.building.gross_floor_area_m2),
    ),
    EnPI(
        "kwh_per_occupant",
        "kWh/person",
        "electricity per occupant (office and dormitory capacity)",
        lambda i: _per(i.electricity_kwh, i.building.occupants),
    ),
    EnPI(
        "kwh_per_cdd",
        "kWh/(degC*d)",
        "electricity per cooling degree-day",
        lambda i: _per(i.electricity_kwh, i.cooling_degree_days),
    ),
    EnPI(
        "cooling_degree_days", "degC*d", "cooling degree-days, base 24 degC", lambda i: i.cooling_degree_days
    ),
    EnPI("peak_demand_kw", "kW", "highest 15-minute mean demand", lambda i: i.peak_demand_kw),
    EnPI(
        "night_baseload_ratio",
        "ratio",
        "mean kW 00:00-06:00 / mean kW in working hours",
        lambda i: _baseload_ratio(i, lambda t: t.hour in NIGHT_HOURS),
    ),
    EnPI(
        "weekend_baseload_ratio",
        "ratio",
        "mean kW on weekends / mean kW in working hours",
        lambda i: _baseload_ratio(i, lambda t: t.weekday() >= 5),
    ),
    EnPI("water_m3", "m3", "mains water", lambda i: i.water_m3),
    EnPI(
        "water_m3_per_occupant",
        "m3/person",
        "mains water per occupant",
        lambda i: _per(i.water_m3, i.building.occupants),
    ),
    EnPI(
        "solar_self_consumed_kwh",
        "kWh",
        "rooftop PV generation, all used on site (no export meter)",
        lambda i: i.solar_kwh,
    ),
    EnPI(
        "solar_share_pct",
        "%",
        "PV share of the electricity used (grid + PV)",
        lambda i: _per(100.0 * i.solar_kwh, i.electricity_kwh + i.solar_kwh),
    ),
)


def peak_demand_kw(
    store: AggregatingStore, devices: list[str], *, since: datetime, until: datetime
) -> tuple[float, datetime] | None:
    """Highest 15-minute mean of the meters' summed power_kw in [since, until), and when it began."""
    if not devices:
        return None
    means = store.bucket_means(
        quantity="power_kw", devices=devices, since=since, until=until, bucket=DEMAND_INTERVAL
    )
    total: dict[datetime, float] = {}
    for per_bucket in means.values():
        for t, value in per_bucket.items():
            total[t] = total.get(t, 0.0) + value
    if not total:
        return None
    t, kw = max(total.items(), key=lambda item: item[1])
    return kw, t


def enpi_inputs(
    store: AggregatingStore,
    register: MeterRegister,
    building: str,
    *,
    since: datetime,
    until: datetime,
    hourly_temperature_c: Mapping[datetime, float] | None = None,
) -> EnPIInputs:
    """Read what the indicators of one building over [since, until) need from the reading store."""
    narrowed = _only_building(register, building)
    totals: dict[Area, float] = {}
    hourly: Series = {}
    for area in (Area.ELECTRICITY, Area.WATER, Area.SOLAR):
        resolution = Resolution.HOUR if area is Area.ELECTRICITY else Resolution.DAY
        found = read_consumption(store, narrowed, area, since=since, until=until, resolution=resolution)
        series = scope_series(found, narrowed, Scope.BUILDING, building)
        totals[area] = sum(series.values())
        if area is Area.ELECTRICITY:
            hourly = series
    main = [m.code for m in register.building_meters(building, Area.ELECTRICITY)]
    peak = peak_demand_kw(store, main, since=since, until=until)
    cdd = cooling_degree_days(hourly_temperature_c) if hourly_temperature_c else None
    return EnPIInputs(
        register.buildings[building],
        totals[Area.ELECTRICITY],
        totals[Area.WATER],
        totals[Area.SOLAR],
        hourly,
        peak[0] if peak else None,
        cdd,
    )


def _only_building(register: MeterRegister, building: str) -> MeterRegister:
    """The register cut down to one building's meters, so only they are queried."""
    meters = {code: m for code, m in register.meters.items() if m.building == building}
    return MeterRegister(meters, {}, {building: register.buildings[building]}, {})


def compute(inputs: EnPIInputs) -> list[EnPIValue]:
    """Every indicator of ENPIS for the inputs."""
    return [EnPIValue(e.key, e.unit, e.value(inputs)) for e in ENPIS]
