"""Consumption of an area per meter, virtual meter, space, building, department and site, by period."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from cityhall.energy.consumption import Resolution, meter_series
from cityhall.energy.periods import Period, regroup
from cityhall.energy.register import AREA_MEASURES, Area, MeterRegister
from cityhall.energy.registers import RegisterEvent
from cityhall.timeseries import AggregatingStore

Series = dict[datetime, float]


class Scope(StrEnum):
    """What a figure is about."""

    METER = "meter"
    SPACE = "space"
    BUILDING = "building"
    DEPARTMENT = "department"
    SITE = "site"


@dataclass(frozen=True, slots=True)
class Consumption:
    """One area's consumption per real and virtual meter and bucket, in `unit`, with the anomalies found."""

    area: Area
    unit: str
    resolution: Resolution
    since: datetime
    until: datetime
    by_meter: dict[str, Series]
    events: tuple[RegisterEvent, ...]


def read_consumption(
    store: AggregatingStore,
    register: MeterRegister,
    area: Area,
    *,
    since: datetime,
    until: datetime,
    resolution: Resolution = Resolution.DAY,
) -> Consumption:
    """Consumption of every meter of an area, and of the virtual meters built on them, in [since, until)."""
    measure = AREA_MEASURES[area]
    codes = [m.code for m in register.of_area(area)]
    found = meter_series(
        store, measurement=measure.measurement, devices=codes, since=since, until=until, resolution=resolution
    )
    by_meter = dict(found.by_meter)
    for virtual in register.virtual_meters.values():
        if virtual.area is area:
            plus = _total(by_meter.get(code, {}) for code in virtual.plus)
            minus = _total(by_meter.get(code, {}) for code in virtual.minus)
            by_meter[virtual.code] = _total([plus, {ts: -v for ts, v in minus.items()}])
    return Consumption(area, measure.unit, resolution, since, until, by_meter, tuple(found.events))


def _total(parts: Iterable[Series]) -> Series:
    """Bucket-wise sum of series."""
    out: Series = {}
    for part in parts:
        for ts, amount in part.items():
            out[ts] = out.get(ts, 0.0) + amount
    return dict(sorted(out.items()))


def _scaled(series: Series, factor: float) -> Series:
    return {ts: amount * factor for ts, amount in series.items()}


def scope_series(consumption: Consumption, register: MeterRegister, scope: Scope, code: str) -> Series:
    """Consumption per bucket of one meter, space, building, department or site (KeyError if unknown)."""
    area = consumption.area
    by_meter = consumption.by_meter
    if scope is Scope.METER:
        if code not in by_meter:
            raise KeyError(f"no {area} meter {code!r}")
        return by_meter[code]
    if scope is Scope.SPACE:
        return _total(by_meter.get(m.code, {}) for m in register.space_meters(code, area))
    if scope is Scope.BUILDING:
        if code not in register.buildings:
            raise KeyError(f"no building {code!r}")
        return _total(by_meter.get(m.code, {}) for m in register.building_meters(code, area))
    if scope is Scope.DEPARTMENT:
        department = register.departments[code]
        # Departments are not sub-metered: each gets its floor-area share of its buildings' consumption.
        return _total(
            _scaled(
                scope_series(consumption, register, Scope.BUILDING, building),
                area_m2 / register.buildings[building].gross_floor_area_m2,
            )
            for building, area_m2 in department.area_m2_by_building.items()
        )
    buildings = register.site_buildings(code)
    if not buildings:
        raise KeyError(f"no site {code!r}")
    return _total(scope_series(consumption, register, Scope.BUILDING, b) for b in buildings)


def scope_codes(register: MeterRegister, consumption: Consumption, scope: Scope) -> list[str]:
    """Every code of a scope that the consumption can be reported for."""
    if scope is Scope.METER:
        return sorted(consumption.by_meter)
    if scope is Scope.SPACE:
        return sorted({m.space for m in register.of_area(consumption.area) if not m.is_main})
    if scope is Scope.BUILDING:
        return sorted(register.buildings)
    if scope is Scope.DEPARTMENT:
        return sorted(register.departments)
    return sorted({b.site for b in register.buildings.values()})


def rollup(
    consumption: Consumption, register: MeterRegister, scope: Scope, period: Period
) -> dict[str, dict[datetime, float]]:
    """Consumption of every code of a scope, per period (local period start -> amount in `unit`)."""
    return {
        code: regroup(scope_series(consumption, register, scope, code), period)
        for code in scope_codes(register, consumption, scope)
    }
