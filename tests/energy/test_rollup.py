"""Rollups per meter, virtual meter, space, building, department and site, and the EnPIs, cross-checked against
sums computed here from the clean twin's raw readings."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from cityhall.assets import AssetDocument, load_yaml, seed_path
from cityhall.energy.consumption import Resolution
from cityhall.energy.enpi import compute, enpi_inputs
from cityhall.energy.periods import TAIPEI, Period, period_start, periods, regroup
from cityhall.energy.register import Area, MeterRegister, register_from_document
from cityhall.energy.rollup import Scope, read_consumption, rollup, scope_series
from cityhall.energy.weather import cooling_degree_days
from tests.energy.conftest import Backfilled
from tests.energy.test_consumption import _largest_step, _raw

CHILLERS = ("YH-A-B1-EM-CHIL", "YH-A-B1-EM-CHWP")


def _seed_data() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(seed_path().read_text(encoding="utf-8"))
    return data


@cache
def register() -> MeterRegister:
    """The seed register with a virtual meter and two departments added."""
    data = _seed_data()
    data["virtual_meters"] = [
        {
            "code": "YH-A-VM-NONHVAC",
            "name": "Yonghua main building without the chiller plant",
            "kind": "electricity_meter",
            "plus": ["YH-A-EM-MAIN"],
            "minus": list(CHILLERS),
        }
    ]
    data["departments"] = [
        {"code": "DBAS", "name": "Budget, Accounting and Statistics", "spaces": ["YH-A-9F-OFF-01"]},
        {"code": "PERS", "name": "Personnel", "spaces": ["YH-A-9F-OFF-02"]},
    ]
    return register_from_document(AssetDocument.model_validate(data))


def _truth(backfilled: Backfilled, measurement: str, device: str) -> float:
    """Total consumption in the window: last minus first reading of the clean twin."""
    points = _raw(backfilled.clean, measurement, device)
    return points[-1][1] - points[0][1]


def test_virtual_meters_and_departments_are_checked_on_import() -> None:
    data = _seed_data()
    data["virtual_meters"] = [
        {"code": "VM-1", "name": "bad", "kind": "water_meter", "plus": ["YH-A-EM-MAIN", "NOPE"]}
    ]
    data["departments"] = [
        {"code": "D1", "name": "one", "spaces": ["YH-A-9F-OFF-01"]},
        {"code": "D2", "name": "two", "spaces": ["YH-A-9F-OFF-01", "NO-SPACE"]},
    ]
    with pytest.raises(ValueError, match="is a electricity_meter, not a water_meter") as caught:
        AssetDocument.model_validate(data)
    message = str(caught.value)
    assert "unknown device 'NOPE'" in message
    assert "unknown space 'NO-SPACE'" in message
    assert "space 'YH-A-9F-OFF-01' is in two departments" in message


def test_a_register_without_the_new_sections_still_loads(tmp_path: Path) -> None:
    data = yaml.safe_load(seed_path().read_text())
    assert data.pop("departments")  # the seed has departments; a document may leave them out
    path = tmp_path / "no-departments.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    doc = load_yaml(path)
    assert doc.virtual_meters == ()
    assert doc.departments == ()
    assert register_from_document(doc).departments == {}


def test_building_space_site_virtual_and_department_totals(backfilled: Backfilled) -> None:
    reg = register()
    found = read_consumption(
        backfilled.faulty, reg, Area.ELECTRICITY, since=backfilled.start, until=backfilled.end
    )
    main = _truth(backfilled, "energy_kwh", "YH-A-EM-MAIN")
    chillers = sum(_truth(backfilled, "energy_kwh", code) for code in CHILLERS)

    def total(scope: Scope, code: str) -> float:
        return sum(scope_series(found, reg, scope, code).values())

    assert total(Scope.BUILDING, "YH-A") == pytest.approx(main, rel=1e-9)  # the main meter, not main + subs
    assert total(Scope.SPACE, "YH-A-B1-CHIL") == pytest.approx(chillers, rel=1e-9)
    assert total(Scope.METER, "YH-A-VM-NONHVAC") == pytest.approx(main - chillers, rel=1e-9)
    assert total(Scope.SITE, "YH") == pytest.approx(main, rel=1e-9)
    dorm = _truth(backfilled, "energy_kwh", "MZ-DORM-EM-MAIN")
    # The dormitory meter rolls over: at most the one interval before the wrap is missing.
    slack = _largest_step(backfilled.clean, "energy_kwh", "MZ-DORM-EM-MAIN")
    assert dorm - slack <= total(Scope.SITE, "MZ") <= dorm + 1e-6
    assert total(Scope.DEPARTMENT, "DBAS") == pytest.approx(main * 1150 / 44800, rel=1e-9)
    assert total(Scope.DEPARTMENT, "PERS") == pytest.approx(main * 1100 / 44800, rel=1e-9)
    with pytest.raises(KeyError):
        total(Scope.BUILDING, "NO-SUCH")


def test_rollups_by_week_month_and_year_follow_the_local_calendar(backfilled: Backfilled) -> None:
    reg = register()
    found = read_consumption(backfilled.faulty, reg, Area.WATER, since=backfilled.start, until=backfilled.end)
    daily = rollup(found, reg, Scope.BUILDING, Period.DAY)["YH-A"]
    weekly = rollup(found, reg, Scope.BUILDING, Period.WEEK)["YH-A"]
    monthly = rollup(found, reg, Scope.BUILDING, Period.MONTH)["YH-A"]
    yearly = rollup(found, reg, Scope.BUILDING, Period.YEAR)["YH-A"]
    assert list(daily) == [datetime(2026, 7, d, tzinfo=TAIPEI) for d in range(13, 18)]
    assert list(weekly) == [datetime(2026, 7, 13, tzinfo=TAIPEI)]  # 13 July 2026 is a Monday
    assert list(monthly) == [datetime(2026, 7, 1, tzinfo=TAIPEI)]
    assert list(yearly) == [datetime(2026, 1, 1, tzinfo=TAIPEI)]
    expected = _truth(backfilled, "volume_m3", "YH-A-WM-MAIN")
    for series in (daily, weekly, monthly, yearly):
        assert sum(series.values()) == pytest.approx(expected, rel=1e-9)
    assert set(rollup(found, reg, Scope.DEPARTMENT, Period.MONTH)) == {"DBAS", "PERS"}


def test_periods_in_asia_taipei() -> None:
    late = datetime(2026, 12, 31, 16, 30, tzinfo=UTC)  # 00:30 on 1 January 2027 in Taipei
    assert period_start(late, Period.YEAR) == datetime(2027, 1, 1, tzinfo=TAIPEI)
    assert period_start(late, Period.WEEK) == datetime(2026, 12, 28, tzinfo=TAIPEI)
    assert periods(
        datetime(2026, 11, 15, tzinfo=TAIPEI), datetime(2027, 2, 1, tzinfo=TAIPEI), Period.MONTH
    ) == [
        datetime(2026, 11, 1, tzinfo=TAIPEI),
        datetime(2026, 12, 1, tzinfo=TAIPEI),
        datetime(2027, 1, 1, tzinfo=TAIPEI),
    ]
    assert regroup({late: 2.0, late - timedelta(hours=1): 3.0}, Period.DAY) == {
        datetime(2027, 1, 1, tzinfo=TAIPEI): 2.0,
        datetime(2026, 12, 31, tzinfo=TAIPEI): 3.0,
    }
    with pytest.raises(ValueError, match="timezone-aware"):
        period_start(datetime(2026, 1, 1), Period.DAY)  # noqa: DTZ001 - the naive datetime under test


def test_cooling_degree_days_use_local_daily_means() -> None:
    hours = [datetime(2026, 7, 13, tzinfo=TAIPEI) + timedelta(hours=h) for h in range(48)]
    temps = {ts: (30.0 if ts.day == 13 else 20.0) for ts in hours}
    assert cooling_degree_days(temps) == pytest.approx(6.0)  # 30 - 24 on day one, nothing on day two
    assert cooling_degree_days(temps, base_c=18.0) == pytest.approx(12.0 + 2.0)


def test_enpis_of_the_dormitory(backfilled: Backfilled) -> None:
    reg = register()
    temps = {backfilled.start + timedelta(hours=h): 28.0 for h in range(24 * 5)}
    inputs = enpi_inputs(
        backfilled.faulty,
        reg,
        "MZ-DORM",
        since=backfilled.start,
        until=backfilled.end,
        hourly_temperature_c=temps,
    )
    values = {v.key: v for v in compute(inputs)}
    kwh = _truth(backfilled, "energy_kwh", "MZ-DORM-EM-MAIN")
    building = reg.buildings["MZ-DORM"]
    slack = _largest_step(backfilled.clean, "energy_kwh", "MZ-DORM-EM-MAIN")  # the rollover's interval
    assert values["electricity_kwh"].value == pytest.approx(kwh, abs=slack)
    used = values["electricity_kwh"].value
    assert used is not None
    assert values["kwh_per_m2"].unit == "kWh/m2"
    assert values["kwh_per_m2"].value == pytest.approx(used / building.gross_floor_area_m2)
    assert values["kwh_per_occupant"].value == pytest.approx(used / building.occupants)
    assert values["cooling_degree_days"].value == pytest.approx(20.0)  # five days at 4 degC over the base
    assert values["kwh_per_cdd"].value == pytest.approx(used / 20.0)
    power = [v for _, v in _raw(backfilled.faulty, "power_kw", "MZ-DORM-EM-MAIN")]
    assert values["peak_demand_kw"].value == pytest.approx(max(power))  # one reading per 15 minutes
    night, weekend = values["night_baseload_ratio"].value, values["weekend_baseload_ratio"].value
    assert night is not None
    assert 0.0 < night < 5.0
    assert weekend is None  # 13-17 July 2026 is Monday to Friday
    water = _truth(backfilled, "volume_m3", "MZ-DORM-WM-MAIN")
    assert values["water_m3"].value == pytest.approx(water, rel=2e-2)  # a reset: one interval may be short
    solar = _truth(backfilled, "energy_kwh", "MZ-DORM-RF-PV-01")
    assert values["solar_self_consumed_kwh"].value == pytest.approx(solar, rel=1e-9)
    assert values["solar_share_pct"].value == pytest.approx(100 * solar / (solar + used))


def test_the_night_ratio_matches_hourly_sums_from_raw_readings(backfilled: Backfilled) -> None:
    reg = register()
    found = read_consumption(
        backfilled.faulty,
        reg,
        Area.ELECTRICITY,
        since=backfilled.start,
        until=backfilled.end,
        resolution=Resolution.HOUR,
    )
    mine = scope_series(found, reg, Scope.BUILDING, "YH-A")
    points = _raw(backfilled.clean, "energy_kwh", "YH-A-EM-MAIN")
    hourly: dict[datetime, float] = {}
    for (_, a), (ts, b) in itertools.pairwise(points):
        key = ts.astimezone(TAIPEI).replace(minute=0)
        hourly[key] = hourly.get(key, 0.0) + b - a
    untouched = [
        ts for ts in hourly if not date(2026, 7, 14) <= ts.date() <= date(2026, 7, 15)
    ]  # the offline night moves consumption between hours; the other days must match hour by hour
    assert untouched
    for ts in untouched:
        assert mine[ts.astimezone(UTC)] == pytest.approx(hourly[ts], rel=1e-9, abs=1e-6), ts
