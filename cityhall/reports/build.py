"""Build a committee report's numbers from the reading store (InfluxDB, or the SQL readings table of the
embedded default) and the database (committee records).

Fast by construction: consumption is read with daily buckets, one aggregate query per area and hundred meters
(cityhall.energy.consumption), never per meter; the year before and the baseline year are read only for the
meters whose sum is a building's consumption (its main meters); EnPI inputs are gathered for every building
at once, and peak demand for all single-incomer buildings in one query.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import date, datetime, timedelta

import numpy as np
from sqlalchemy.orm import Session

from cityhall.db import utcnow
from cityhall.energy import enpi
from cityhall.energy.baseline import (
    MIN_POINTS_PER_SIDE,
    Granularity,
    fit_daily,
    monthly_metrics,
    savings,
)
from cityhall.energy.consumption import Resolution
from cityhall.energy.periods import TAIPEI
from cityhall.energy.register import Area, MeterRegister
from cityhall.energy.rollup import Consumption, Scope, Series, read_consumption, scope_series
from cityhall.energy.weather import cooling_degree_days, daily_mean_temperature, hourly_temperature
from cityhall.reports.committee import action_items, four_areas
from cityhall.reports.content import (
    PCT,
    Anomaly,
    AreaConsumption,
    BaselineStatus,
    BuildingBaseline,
    BuildingEnPIs,
    CommitteeReport,
    ConsumptionRow,
    DailySeries,
    EnPIDefinition,
    Quantity,
    Weather,
)
from cityhall.reports.period import ReportKind, ReportPeriod, report_period
from cityhall.timeseries import AggregatingStore

# The steps build_report announces through `on_step`, in order (the CLI's progress bar counts them).
STEPS = (
    "consumption this period",
    "consumption last year",
    "indicators",
    "weather",
    "baselines",
    "four areas",
    "action items",
)
StepCallback = Callable[[str], None]
_DEVICES_PER_QUERY = 100
BASELINE_AREA = Area.ELECTRICITY  # the area the weather-normalised baseline is fitted for
MIN_BASELINE_DAYS = 2 * MIN_POINTS_PER_SIDE
READ_CONCURRENCY = 2  # store queries in flight at once: InfluxDB aggregates on its own cores; 3 was slower


def build_report(
    session: Session,
    store: AggregatingStore,
    register: MeterRegister,
    *,
    kind: ReportKind,
    period: str | ReportPeriod,
    weather_device: str | None = None,
    baseline_year: int | None = None,
    now: datetime | None = None,
    on_step: StepCallback | None = None,
) -> CommitteeReport:
    """The committee report for one month (`2026-10`) or quarter (`2026Q3`) in Asia/Taipei.

    Consumption per area by building and department against the same period last year; EnPIs; a daily
    electricity baseline per building fitted on `baseline_year` (default: the year before the period's)
    against `weather_device`'s outdoor temperature, with Guideline 14 metrics and savings; register anomalies;
    four-areas progress; open committee action items.
    """
    the_period = period if isinstance(period, ReportPeriod) else report_period(kind, period)
    last_year = the_period.last_year()
    generated_at = now or utcnow()
    step = on_step or (lambda _name: None)
    notes: list[str] = []
    mains = main_meter_register(register)
    year = baseline_year or the_period.year - 1
    baseline_start = datetime(year, 1, 1, tzinfo=TAIPEI)
    baseline_end = datetime(year + 1, 1, 1, tzinfo=TAIPEI)
    areas_metered = _areas(register)
    has_electricity = Area.ELECTRICITY in areas_metered

    # The committee's records first: the four-areas thread below then has the session to itself.
    items = action_items(session, at=the_period.end)
    # The store does the heavy lifting (aggregating months of 15-minute readings: InfluxDB in its own process,
    # on its own cores): the reads are sent together, and the report waits for each as it needs it.
    with ThreadPoolExecutor(max_workers=READ_CONCURRENCY, thread_name_prefix="report-read") as pool:
        # Departments get shares of buildings, and buildings are sums of their main meters: read only those.
        progress_f = pool.submit(four_areas, session, store, mains, period=the_period)
        current_f = {
            area: pool.submit(
                read_consumption, store, register, area, since=the_period.start, until=the_period.end
            )
            for area in areas_metered
        }
        previous_f = {
            area: pool.submit(
                read_consumption, store, mains, area, since=last_year.start, until=last_year.end
            )
            for area in areas_metered
        }
        hourly_f = pool.submit(
            read_consumption,
            store,
            mains,
            Area.ELECTRICITY,
            since=the_period.start,
            until=the_period.end,
            resolution=Resolution.HOUR,
        )
        peaks_f = pool.submit(
            peak_demand_by_building, store, register, since=the_period.start, until=the_period.end
        )
        temps_f = pool.submit(
            _temperatures,
            store,
            weather_device,
            (baseline_start, baseline_end),
            (last_year.start, last_year.end),
            (the_period.start, the_period.end),
        )
        history_f = (
            pool.submit(
                read_consumption, store, mains, BASELINE_AREA, since=baseline_start, until=baseline_end
            )
            if weather_device
            else None
        )

        step(STEPS[0])
        current = {area: f.result() for area, f in current_f.items()}
        step(STEPS[1])
        previous = {area: f.result() for area, f in previous_f.items()}
        areas = tuple(
            _area_section(register, current[area], previous[area], the_period, last_year) for area in current
        )
        anomalies = _anomalies(register, current.values())

        step(STEPS[2])
        hourly = hourly_f.result() if has_electricity else None
        peaks = peaks_f.result()

        step(STEPS[3])
        temps = temps_f.result()
        if not weather_device:
            notes.append(
                "No outdoor temperature sensor is configured (CITYHALL_ENERGY_WEATHER_DEVICE): "
                "no cooling degree-days and no weather-normalised baselines."
            )
        elif not temps:
            notes.append(
                f"The outdoor sensor {weather_device} sent no temperature readings for these periods."
            )
        weather = _weather(weather_device, temps, the_period, last_year)
        enpis = tuple(
            _building_enpis(
                register, code, current=current, hourly=hourly, peak_kw=peaks.get(code), weather=weather
            )
            for code in sorted(register.buildings)
        )

        step(STEPS[4])
        baselines: tuple[BuildingBaseline, ...] = ()
        if BASELINE_AREA in current:
            history = (
                history_f.result()
                if history_f is not None
                else Consumption(
                    BASELINE_AREA,
                    current[BASELINE_AREA].unit,
                    Resolution.DAY,
                    baseline_start,
                    baseline_end,
                    {},
                    (),
                )
            )
            daily_c = daily_mean_temperature(temps)
            baselines = tuple(
                _baseline(
                    register,
                    code,
                    history=history,
                    current=current[BASELINE_AREA],
                    daily_c=daily_c,
                    period=the_period,
                    has_weather=bool(temps),
                )
                for code in sorted(register.buildings)
                if register.building_meters(code, BASELINE_AREA)
            )

        step(STEPS[5])
        progress = progress_f.result()
    step(STEPS[6])
    if not register.departments:
        notes.append(
            "The asset register declares no departments, so consumption is shown per building only "
            "(declare them in the asset file's `departments` section)."
        )
    return CommitteeReport(
        kind=the_period.kind,
        period=the_period,
        last_year=last_year,
        generated_at=generated_at,
        areas=areas,
        enpis=enpis,
        enpi_definitions=tuple(EnPIDefinition(e.key, e.unit, e.description) for e in enpi.ENPIS),
        weather=weather,
        baselines=baselines,
        anomalies=anomalies,
        progress=progress,
        action_items=items,
        notes=tuple(notes),
    )


def _areas(register: MeterRegister) -> list[Area]:
    """The areas the register has meters for, in the committee's order."""
    return [area for area in Area if register.of_area(area)]


def main_meter_register(register: MeterRegister) -> MeterRegister:
    """The register cut down to the meters whose sum is each building's consumption (main meters)."""
    keep = {
        m.code: m
        for code in register.buildings
        for area in Area
        for m in register.building_meters(code, area)
    }
    return MeterRegister(keep, {}, register.buildings, register.departments)


def _temperatures(
    store: AggregatingStore, device: str | None, *windows: tuple[datetime, datetime]
) -> dict[datetime, float]:
    """Hourly outdoor temperature over the windows (merged: no hour read twice); none without a device."""
    temps: dict[datetime, float] = {}
    if device:
        for since, until in _windows(*windows):
            temps.update(hourly_temperature(store, device, since=since, until=until))
    return temps


def _windows(*windows: tuple[datetime, datetime]) -> list[tuple[datetime, datetime]]:
    """Overlapping [since, until) windows merged, so no reading is read twice."""
    merged: list[tuple[datetime, datetime]] = []
    for since, until in sorted(windows):
        if merged and since <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], until))
        else:
            merged.append((since, until))
    return merged


def _total(series: Series) -> float:
    return float(sum(series.values()))


def _scope_total(consumption: Consumption, register: MeterRegister, scope: Scope, code: str) -> float:
    return _total(scope_series(consumption, register, scope, code))


def _area_section(
    register: MeterRegister,
    current: Consumption,
    previous: Consumption,
    period: ReportPeriod,
    last_year: ReportPeriod,
) -> AreaConsumption:
    area, unit = current.area, current.unit
    metered = [code for code in sorted(register.buildings) if register.building_meters(code, area)]
    buildings = tuple(
        ConsumptionRow(
            code,
            register.buildings[code].name,
            Quantity(_scope_total(current, register, Scope.BUILDING, code), unit),
            Quantity(_scope_total(previous, register, Scope.BUILDING, code), unit),
        )
        for code in metered
    )
    departments = tuple(
        ConsumptionRow(
            code,
            department.name,
            Quantity(_scope_total(current, register, Scope.DEPARTMENT, code), unit),
            Quantity(_scope_total(previous, register, Scope.DEPARTMENT, code), unit),
        )
        for code, department in sorted(register.departments.items())
        if any(b in metered for b in department.area_m2_by_building)
    )
    total = ConsumptionRow(
        "ALL",
        "All buildings",
        Quantity(sum(row.current.value or 0.0 for row in buildings), unit),
        Quantity(sum(row.last_year.value or 0.0 for row in buildings), unit),
    )
    return AreaConsumption(
        area, unit, buildings, departments, total, _daily(register, current, previous, period, last_year)
    )


def _daily(
    register: MeterRegister,
    current: Consumption,
    previous: Consumption,
    period: ReportPeriod,
    last_year: ReportPeriod,
) -> DailySeries:
    """The portfolio's daily use, this period and last year's day by day (day i beside day i)."""

    def by_day(consumption: Consumption) -> dict[date, float]:
        out: dict[date, float] = {}
        for code in register.buildings:
            for ts, amount in scope_series(consumption, register, Scope.BUILDING, code).items():
                day = ts.astimezone(TAIPEI).date()
                out[day] = out.get(day, 0.0) + amount
        return out

    now_days, then_days = by_day(current), by_day(previous)
    days = tuple(period.start.date() + timedelta(days=i) for i in range(period.days))
    then = [last_year.start.date() + timedelta(days=i) for i in range(last_year.days)]
    return DailySeries(
        current.unit,
        days,
        tuple(now_days.get(d) for d in days),
        tuple(then_days.get(then[i]) if i < len(then) else None for i in range(len(days))),
    )


def _anomalies(register: MeterRegister, found: Iterable[Consumption]) -> tuple[Anomaly, ...]:
    out = []
    for consumption in found:
        unit = consumption.unit
        for e in consumption.events:
            meter = register.meters.get(e.device)
            out.append(
                Anomaly(
                    e.device,
                    meter.building if meter else "",
                    consumption.area,
                    e.ts,
                    str(e.kind),
                    Quantity(e.before, unit),
                    Quantity(e.after, unit),
                    Quantity(e.counted, unit),
                )
            )
    return tuple(sorted(out, key=lambda a: (a.ts, a.device)))


def peak_demand_by_building(
    store: AggregatingStore, register: MeterRegister, *, since: datetime, until: datetime
) -> dict[str, float]:
    """Each building's highest 15-minute mean demand (kW) of its main meters' summed power in [since, until).

    Buildings with one incomer are answered for all at once (max of 15-minute means, per device, in one
    query per hundred meters); buildings with several incomers sum them first (enpi.peak_demand_kw)."""
    single: dict[str, str] = {}
    out: dict[str, float] = {}
    for code in register.buildings:
        meters = [m.code for m in register.building_meters(code, Area.ELECTRICITY)]
        if len(meters) == 1:
            single[meters[0]] = code
        elif meters:
            found = enpi.peak_demand_kw(store, meters, since=since, until=until)
            if found is not None:
                out[code] = found[0]
    devices = sorted(single)
    for i in range(0, len(devices), _DEVICES_PER_QUERY):
        peaks = store.peak_bucket_means(
            quantity="power_kw",
            devices=devices[i : i + _DEVICES_PER_QUERY],
            since=since,
            until=until,
            bucket=enpi.DEMAND_INTERVAL,
        )
        for device, kw in peaks.items():
            if device in single:
                out[single[device]] = kw
    return out


def _in(hourly: Mapping[datetime, float], since: datetime, until: datetime) -> dict[datetime, float]:
    return {ts: value for ts, value in hourly.items() if since <= ts < until}


def _weather(
    device: str | None, temps: Mapping[datetime, float], period: ReportPeriod, last_year: ReportPeriod
) -> Weather:
    now = _in(temps, period.start, period.end)
    then = _in(temps, last_year.start, last_year.end)
    return Weather(
        device or None,
        Quantity(sum(now.values()) / len(now) if now else None, "degC"),
        Quantity(cooling_degree_days(now) if now else None, "degC*d"),
        Quantity(cooling_degree_days(then) if then else None, "degC*d"),
    )


def _building_enpis(
    register: MeterRegister,
    code: str,
    *,
    current: Mapping[Area, Consumption],
    hourly: Consumption | None,
    peak_kw: float | None,
    weather: Weather,
) -> BuildingEnPIs:
    """cityhall.energy.enpi's indicators, from figures read for every building at once."""

    def total(area: Area) -> float:
        found = current.get(area)
        return _scope_total(found, register, Scope.BUILDING, code) if found else 0.0

    inputs = enpi.EnPIInputs(
        register.buildings[code],
        total(Area.ELECTRICITY),
        total(Area.WATER),
        total(Area.SOLAR),
        scope_series(hourly, register, Scope.BUILDING, code) if hourly else {},
        peak_kw,
        weather.cooling_degree_days.value,
    )
    return BuildingEnPIs(code, register.buildings[code].name, tuple(enpi.compute(inputs)))


def _baseline(
    register: MeterRegister,
    code: str,
    *,
    history: Consumption,
    current: Consumption,
    daily_c: Mapping[datetime, float],
    period: ReportPeriod,
    has_weather: bool,
) -> BuildingBaseline:
    """Fit the building's daily model on the baseline year; savings in the period against it."""
    unit = history.unit
    since, until = history.since, history.until
    base = BuildingBaseline(
        code=code,
        name=register.buildings[code].name,
        area=history.area,
        unit=unit,
        baseline_start=since,
        baseline_end=until,
        status=BaselineStatus.NO_WEATHER,
        note="no outdoor temperature to normalise by",
    )
    if not has_weather:
        return base
    used = scope_series(history, register, Scope.BUILDING, code)
    days = sorted(ts for ts in used if ts in daily_c)
    if len(days) < MIN_BASELINE_DAYS:
        return replace(
            base,
            status=BaselineStatus.INSUFFICIENT_DATA,
            baseline_days=len(days),
            note=f"{len(days)} days with use and temperature in {since.year}; the model needs "
            f"{MIN_BASELINE_DAYS}",
        )
    usage = np.array([used[d] for d in days])
    temps = np.array([daily_c[d] for d in days])
    model = fit_daily(usage, temps)
    monthly = monthly_metrics(days, usage, model.predict(temps), model.params)
    reported = scope_series(current, register, Scope.BUILDING, code)
    report_days = sorted(ts for ts in reported if ts in daily_c)
    year_days = (until.date() - since.date()).days
    note = f"fitted on {len(days)} of {year_days} days"
    if len(report_days) < period.days:
        note += f"; {len(report_days)} of {period.days} reporting days have use and temperature"
    fitted = replace(
        base,
        status=BaselineStatus.FITTED,
        note=note,
        model_kind=str(model.kind),
        baseline_days=len(days),
        intercept=Quantity(float(model.intercept), f"{unit}/d"),
        cdd_balance=Quantity(model.cdd_balance_c, "degC"),
        cdd_slope=Quantity(
            float(model.cdd_slope) if model.cdd_balance_c is not None else None, f"{unit}/(degC*d)"
        ),
        hdd_balance=Quantity(model.hdd_balance_c, "degC"),
        hdd_slope=Quantity(
            float(model.hdd_slope) if model.hdd_balance_c is not None else None, f"{unit}/(degC*d)"
        ),
        r2=Quantity(_finite(model.metrics.r2), "ratio"),
        cv_rmse_daily=Quantity(_finite(model.metrics.cv_rmse_pct), PCT),
        nmbe_daily=Quantity(_finite(model.metrics.nmbe_pct), PCT),
        cv_rmse_monthly=Quantity(_finite(monthly.cv_rmse_pct), PCT),
        nmbe_monthly=Quantity(_finite(monthly.nmbe_pct), PCT),
        meets_ashrae14=monthly.meets_ashrae14(Granularity.MONTHLY),
        reporting_days=len(report_days),
    )
    if not report_days:
        return fitted
    actual = np.array([reported[d] for d in report_days])
    predicted = model.predict(np.array([daily_c[d] for d in report_days]))
    saved = savings(model.metrics, predicted, actual)
    return replace(
        fitted,
        adjusted_baseline=Quantity(saved.adjusted_baseline, unit),
        reporting=Quantity(saved.reporting, unit),
        savings=Quantity(saved.savings, unit),
        savings_pct=Quantity(saved.savings_pct, PCT),
        uncertainty=Quantity(_finite(saved.uncertainty), unit),
        confidence=Quantity(100.0 * saved.confidence, PCT),
        significant=saved.significant,
    )


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None
