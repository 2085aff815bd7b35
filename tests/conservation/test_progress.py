"""Four-area progress, cross-checked against sums computed here from the raw readings in a real InfluxDB and
from the entries, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from cityhall.conservation import targets
from cityhall.conservation.progress import (
    AT_RISK_MARGIN,
    AreaProgress,
    four_areas_progress,
    share_by_profile,
    status_of,
)
from cityhall.db import transaction
from cityhall.energy.periods import TAIPEI
from cityhall.energy.register import MeterRegister
from cityhall.models import ConservationArea
from tests.conservation.conftest import Readings

ACTOR = "user:test"
YEAR = 2026
# The departments' floor-area shares of the Yonghua main building (seed: 1150 and 1100 of 44800 m2).
SHARE = {"DBAS": 1150 / 44800, "PERS": 1100 / 44800}
# The Yonghua main building's meters per area, read from the seed by eye (no code under test involved).
BUILDING_METERS = {
    "electricity": ("energy_kwh", ["YH-A-EM-MAIN"]),
    "water": ("volume_m3", ["YH-A-WM-MAIN"]),
    "fuel": ("volume_m3", ["YH-A-B1-FM-GEN"]),
}


def _entry(  # noqa: PLR0917 - a row of test data
    session: Session,
    register: MeterRegister,
    dep: str,
    area: str,
    month: str,
    amount: float,
    unit: str,
    source: str = "purchase invoice",
) -> None:
    year, mon = (int(p) for p in month.split("-"))
    targets.post_entry(
        session,
        register=register,
        values=targets.EntryValues(dep, ConservationArea(area), date(year, mon, 1), amount, unit, source),
        actor=ACTOR,
    )


def _target(  # noqa: PLR0917 - a row of test data
    session: Session,
    register: MeterRegister,
    dep: str,
    area: str,
    amount: float,
    unit: str,
    baseline_year: int | None = None,
) -> None:
    targets.create_target(
        session,
        register=register,
        department_code=dep,
        year=YEAR,
        area=ConservationArea(area),
        values=targets.TargetValues(amount, unit, baseline_amount=None, baseline_year=baseline_year),
        actor=ACTOR,
    )


def _by_key(rows: list[AreaProgress]) -> dict[tuple[str, str], AreaProgress]:
    return {(r.department, r.area): r for r in rows}


def _metered_truth(readings: Readings, department: str, area: str, through: date) -> float:
    """Register differences of the building's meters up to the end of `through`, times the floor-area share."""
    until = datetime.combine(through + timedelta(days=1), datetime.min.time(), tzinfo=TAIPEI)
    measurement, devices = BUILDING_METERS[area]
    total = 0.0
    for device in devices:
        points = readings.raw(measurement, device, until=until)
        assert len(points) > 100, f"{device}: the backfill wrote its readings"
        total += points[-1][1] - points[0][1]
    return total * SHARE[department]


def test_progress_matches_raw_readings_and_entries(
    session_factory: sessionmaker[Session], readings: Readings, register: MeterRegister
) -> None:
    through = readings.last_day  # 2026-07-17
    with transaction(session_factory) as session:
        _target(session, register, "DBAS", "electricity", 1_000_000, "kWh")
        _target(session, register, "DBAS", "water", 3.0, "m3")  # far below what the building's share uses
        _target(session, register, "DBAS", "paper", 30_000, "sheet")  # 60 reams
        _entry(session, register, "DBAS", "paper", "2026-01", 10, "ream")
        _entry(session, register, "DBAS", "paper", "2026-02", 2500, "sheets")  # 5 reams
        _entry(session, register, "DBAS", "paper", "2026-03", 2, "box")  # 10 reams
        _entry(session, register, "DBAS", "paper", "2026-07", 4, "ream")
        _entry(session, register, "DBAS", "paper", "2026-07", 1000, "sheet", source="stationery store")
        _entry(session, register, "DBAS", "fuel", "2026-07", 40, "L", source="fuel card")
        _entry(session, register, "DBAS", "paper", "2026-08", 99, "ream")  # after `through`: not counted
    with transaction(session_factory) as session:
        rows = four_areas_progress(session, readings.store, register, year=YEAR, through=through)

    assert [(r.department, r.area) for r in rows] == [
        (d, a) for d in ("DBAS", "PERS") for a in ("electricity", "water", "fuel", "paper")
    ]
    got = _by_key(rows)
    elapsed = (through - date(YEAR, 1, 1)).days + 1
    share = elapsed / 365
    july = through.day / 31

    for dep in ("DBAS", "PERS"):
        for area in ("electricity", "water", "fuel"):
            assert got[dep, area].metered == pytest.approx(
                _metered_truth(readings, dep, area, through), rel=1e-9
            )
    assert got["DBAS", "electricity"].metered > 100  # a real figure, not an empty window

    paper = got["DBAS", "paper"]
    assert paper.unit == "ream"
    assert paper.metered == 0
    assert paper.entered == pytest.approx(10 + 5 + 10 + (4 + 2) * july, rel=1e-12)
    assert paper.target == pytest.approx(60)
    assert paper.target_to_date == pytest.approx(60 * share, rel=1e-12)
    assert paper.forecast == pytest.approx(paper.actual / share, rel=1e-12)
    expected = "on_track" if paper.actual <= 60 * share else "behind"
    assert paper.status == expected == "on_track"  # 28.3 reams against 32.5 to date

    fuel = got["DBAS", "fuel"]
    assert fuel.unit == "m3"
    assert fuel.entered == pytest.approx(0.040 * july, rel=1e-12)
    assert fuel.actual == pytest.approx(fuel.metered + fuel.entered, rel=1e-12)
    assert fuel.status == "no_target"
    assert fuel.target is None
    assert fuel.target_to_date is None

    water = got["DBAS", "water"]
    assert water.target_to_date == pytest.approx(3.0 * share)
    assert water.actual > 3.0 * share * (1 + AT_RISK_MARGIN)
    assert water.status == "behind"

    electricity = got["DBAS", "electricity"]
    assert electricity.unit == "kWh"
    assert electricity.entered == 0
    assert electricity.status == "on_track"
    assert electricity.forecast == pytest.approx(electricity.actual / share, rel=1e-12)

    pers_paper = got["PERS", "paper"]
    assert (pers_paper.actual, pers_paper.forecast, pers_paper.status) == (0, None, "no_target")
    assert {r.department_name for r in rows} == {"Budget, Accounting and Statistics", "Personnel"}
    assert all(r.through == through and r.year == YEAR for r in rows)


def test_without_a_reading_store_metered_is_zero(
    session_factory: sessionmaker[Session], register: MeterRegister
) -> None:
    with transaction(session_factory) as session:
        _entry(session, register, "PERS", "electricity", "2026-01", 3.1, "MWh", source="Taipower bill, annex")
    with transaction(session_factory) as session:
        got = _by_key(four_areas_progress(session, None, register, year=YEAR, through=date(YEAR, 1, 31)))
    assert got["PERS", "electricity"].metered == 0
    assert got["PERS", "electricity"].entered == pytest.approx(3100)
    assert got["DBAS", "electricity"].forecast is None  # nothing metered or entered


def test_target_is_prorated_by_the_baseline_years_monthly_profile(
    session_factory: sessionmaker[Session], register: MeterRegister
) -> None:
    with transaction(session_factory) as session:
        for month in range(1, 13):  # 2025: month m used m reams (a year of 78)
            _entry(session, register, "DBAS", "paper", f"2025-{month:02d}", month, "ream")
        for month in range(1, 12):  # PERS's 2025 misses December: its profile cannot be used
            _entry(session, register, "PERS", "paper", f"2025-{month:02d}", month, "ream")
        for month in (1, 2, 3):
            _entry(session, register, "DBAS", "paper", f"2026-{month:02d}", 2, "ream")
            _entry(session, register, "PERS", "paper", f"2026-{month:02d}", 2, "ream")
        _target(session, register, "DBAS", "paper", 60, "ream", baseline_year=2025)
        _target(session, register, "PERS", "paper", 60, "ream", baseline_year=2025)

    with transaction(session_factory) as session:
        end_of_march = _by_key(
            four_areas_progress(session, None, register, year=YEAR, through=date(YEAR, 3, 31))
        )
        mid_march = _by_key(
            four_areas_progress(session, None, register, year=YEAR, through=date(YEAR, 3, 15))
        )

    dbas = end_of_march["DBAS", "paper"]
    assert dbas.actual == pytest.approx(6)
    assert dbas.target_to_date == pytest.approx(60 * 6 / 78, rel=1e-12)  # (1 + 2 + 3) / 78 of the year
    assert dbas.forecast == pytest.approx(6 / (6 / 78), rel=1e-12)
    assert dbas.status == "behind"  # 6 against 4.6 to date
    pers = end_of_march["PERS", "paper"]
    assert pers.target_to_date == pytest.approx(60 * 90 / 365, rel=1e-12)  # by days: 31 + 28 + 31
    assert pers.status == "on_track"  # 6 against 14.8

    half = 15 / 31
    dbas_mid = mid_march["DBAS", "paper"]
    assert dbas_mid.actual == pytest.approx(2 + 2 + 2 * half, rel=1e-12)
    assert dbas_mid.target_to_date == pytest.approx(60 * (1 + 2 + 3 * half) / 78, rel=1e-12)


def test_status_thresholds() -> None:
    assert status_of(100.0, 100.0) == "on_track"
    assert status_of(100.0 * (1 + AT_RISK_MARGIN), 100.0) == "at_risk"
    assert status_of(100.0 * (1 + AT_RISK_MARGIN) + 0.01, 100.0) == "behind"
    assert status_of(0.0, 0.0) == "on_track"
    assert status_of(0.1, 0.0) == "behind"
    assert status_of(5.0, None) == "no_target"
    assert share_by_profile(dict.fromkeys(range(1, 12), 1.0), date(YEAR, 3, 1)) is None
    assert share_by_profile(dict.fromkeys(range(1, 13), 0.0), date(YEAR, 3, 1)) is None


def test_through_is_checked_and_clamped(
    session_factory: sessionmaker[Session], register: MeterRegister
) -> None:
    with transaction(session_factory) as session:
        with pytest.raises(ValueError, match="before the year"):
            four_areas_progress(session, None, register, year=YEAR, through=date(YEAR - 1, 12, 31))
        rows = four_areas_progress(session, None, register, year=2025, through=date(YEAR, 2, 1))
    assert {r.through for r in rows} == {date(2025, 12, 31)}
