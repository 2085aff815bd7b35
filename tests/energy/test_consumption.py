"""Consumption from the registers in a real InfluxDB, checked against sums computed here from raw readings."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import pytest

from cityhall.contract import Reading
from cityhall.energy.consumption import Resolution, meter_series
from cityhall.energy.periods import TAIPEI
from cityhall.energy.register import AREA_MEASURES, Area
from cityhall.energy.registers import RegisterEvent, RegisterEventKind
from cityhall.energy.rollup import read_consumption
from cityhall.timeseries.influx import InfluxStore
from tests import servers
from tests.energy.conftest import Backfilled, energy_plan, seed_register

# Devices whose register faults are in scenario-energy.yaml, and the fault instants.
RESETS = {
    "YH-A-2F-EM-01": datetime(2026, 7, 14, 12, tzinfo=TAIPEI),
    "MZ-DORM-WM-MAIN": datetime(2026, 7, 16, 8, tzinfo=TAIPEI),
    "YH-A-RF-PV-01": datetime(2026, 7, 15, tzinfo=TAIPEI),
    "YH-A-3F-EM-01": datetime(2026, 7, 15, 6, tzinfo=TAIPEI),
    "MZ-DORM-EM-MAIN": datetime(2026, 7, 17, tzinfo=TAIPEI),
}
# The main meter is offline from 22:00 on 14 July to 05:00 on 15 July: what it counted meanwhile shows when it
# returns, so the 15th carries the last two hours of the 14th; the two days together are exact.
OFFLINE = ("YH-A-EM-MAIN", date(2026, 7, 14), date(2026, 7, 15))


def _raw(store: InfluxStore, measurement: str, device: str) -> list[tuple[datetime, float]]:
    """Every reading of one device, by a plain InfluxQL select (no code under test involved)."""
    series = store.query(f'SELECT "value" FROM "{measurement}" WHERE "device" = \'{device}\'')
    return [(datetime.fromtimestamp(t / 1000, UTC), v) for t, v in series[0]["values"]] if series else []


def _true_daily(store: InfluxStore, measurement: str, device: str) -> dict[date, float]:
    """Register differences of a clean run summed per Asia/Taipei day of each interval's end."""
    points = _raw(store, measurement, device)
    out: dict[date, float] = {}
    for (_, before), (ts, after) in itertools.pairwise(points):
        day = ts.astimezone(TAIPEI).date()
        out[day] = out.get(day, 0.0) + after - before
    return out


def _largest_step(store: InfluxStore, measurement: str, device: str) -> float:
    points = _raw(store, measurement, device)
    return max(b - a for (_, a), (_, b) in itertools.pairwise(points))


@pytest.mark.parametrize("area", list(Area))
def test_daily_consumption_equals_the_clean_twin(backfilled: Backfilled, area: Area) -> None:
    register = seed_register()
    found = read_consumption(backfilled.faulty, register, area, since=backfilled.start, until=backfilled.end)
    measurement = AREA_MEASURES[area].measurement
    simulated = {d.code for d in energy_plan().devices}
    meters = [m.code for m in register.of_area(area) if m.code in simulated]
    assert meters
    for code in meters:
        truth = _true_daily(backfilled.clean, measurement, code)
        mine = {ts.astimezone(TAIPEI).date(): v for ts, v in found.by_meter[code].items()}
        assert set(mine) == set(truth), code
        assert min(mine.values()) >= 0.0, code
        if code == OFFLINE[0]:
            _, first, second = OFFLINE
            assert mine[first] < truth[first]
            assert mine[first] + mine[second] == pytest.approx(truth[first] + truth[second], rel=1e-9)
            mine[first], mine[second] = truth[first], truth[second]  # checked together just above
        for day, true_amount in truth.items():
            if code in RESETS and RESETS[code].date() == day:
                # The interval that ends at the reset is counted from the new register's zero: at most one
                # interval's consumption is missing, never more, never doubled.
                slack = _largest_step(backfilled.clean, measurement, code)
                assert true_amount - slack <= mine[day] <= true_amount + 1e-6, (code, day)
            else:
                assert mine[day] == pytest.approx(true_amount, rel=1e-9, abs=1e-6), (code, day)


def test_every_register_fault_is_reported_once_where_it_happened(backfilled: Backfilled) -> None:
    register = seed_register()
    events: list[RegisterEvent] = []
    for area in Area:
        events += read_consumption(
            backfilled.faulty, register, area, since=backfilled.start, until=backfilled.end
        ).events
    assert {(e.device, e.ts) for e in events} == {(code, ts.astimezone(UTC)) for code, ts in RESETS.items()}
    assert {e.kind for e in events} == {RegisterEventKind.RESET}


def test_hourly_consumption_adds_up_to_the_daily(backfilled: Backfilled) -> None:
    devices = ["YH-A-EM-MAIN", "YH-A-3F-EM-01", "YH-A-2F-EM-01"]
    args = {
        "measurement": "energy_kwh",
        "devices": devices,
        "since": backfilled.start,
        "until": backfilled.end,
    }
    hourly = meter_series(backfilled.faulty, resolution=Resolution.HOUR, **args)  # type: ignore[arg-type]
    daily = meter_series(backfilled.faulty, resolution=Resolution.DAY, **args)  # type: ignore[arg-type]
    for code in devices:
        assert len(hourly.by_meter[code]) >= 5 * 24 - 8  # the main meter is offline for 7 h
        assert sum(hourly.by_meter[code].values()) == pytest.approx(sum(daily.by_meter[code].values()))


def test_a_window_that_starts_later_takes_its_start_from_the_reading_before(backfilled: Backfilled) -> None:
    later = backfilled.start + timedelta(days=2)
    found = meter_series(
        backfilled.faulty,
        measurement="energy_kwh",
        devices=["YH-A-B1-EM-CHIL"],
        since=later,
        until=backfilled.end,
        resolution=Resolution.DAY,
    )
    truth = _true_daily(backfilled.clean, "energy_kwh", "YH-A-B1-EM-CHIL")
    assert sum(found.by_meter["YH-A-B1-EM-CHIL"].values()) == pytest.approx(
        sum(v for day, v in truth.items() if day >= later.date())
    )


def test_a_window_off_the_local_day_is_refused(backfilled: Backfilled) -> None:
    with pytest.raises(ValueError, match="not on a 1d boundary"):
        meter_series(
            backfilled.faulty,
            measurement="energy_kwh",
            devices=["YH-A-EM-MAIN"],
            since=datetime(2026, 7, 13, tzinfo=UTC),  # 08:00 in Taipei
            until=backfilled.end,
            resolution=Resolution.DAY,
        )


def test_spikes_and_a_replacement_written_by_hand(influx: servers.InfluxServer) -> None:
    """Register glitches the simulator does not make: spikes either way, a replaced meter, a midnight reset."""
    influx.create_database("energy_glitches")
    store = InfluxStore(influx.url, "energy_glitches")
    start = datetime(2026, 3, 1, tzinfo=TAIPEI)
    values = [1000.0 + 2.0 * i for i in range(96 * 3)]  # 2 kWh per 15 min, three days
    truth = {start.date() + timedelta(days=d): 2.0 * 96 for d in range(3)}
    truth[start.date()] -= 2.0  # the first reading has no predecessor
    values[50] += 2500.0  # spike up on day 1
    values[120] -= 300.0  # spike down on day 2
    # Day 2, 13:30: the meter is replaced by one whose register started at 800 kWh (below the old 1,298).
    values[150:192] = [800.0 + 2.0 * i for i in range(42)]
    truth[start.date() + timedelta(days=1)] -= 2.0  # the interval ending at the replacement is not counted
    # Day 3 starts with a reset at local midnight: the register restarts at 0 and shows 2 kWh at 00:00.
    values[192:] = [2.0 * (i + 1) for i in range(96)]
    readings = [
        Reading("GLITCH-EM", "energy_kwh", (start + timedelta(minutes=15 * i)).astimezone(UTC), v)
        for i, v in enumerate(values)
    ]
    store.write(readings, {"GLITCH-EM": {"building": "X"}})
    found = meter_series(
        store,
        measurement="energy_kwh",
        devices=["GLITCH-EM"],
        since=start,
        until=start + timedelta(days=3),
        resolution=Resolution.DAY,
    )
    mine = {ts.astimezone(TAIPEI).date(): v for ts, v in found.by_meter["GLITCH-EM"].items()}
    assert mine == pytest.approx(truth)
    assert [e.kind for e in found.events] == [
        RegisterEventKind.SPIKE,
        RegisterEventKind.SPIKE,
        RegisterEventKind.UNEXPLAINED_DROP,
        RegisterEventKind.RESET,
    ]
    store.close()
