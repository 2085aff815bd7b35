"""A scenario's `realism:`: rooms with thermal mass, residents, night water, lighting on days off and timers,
doors that people open; each checked against the same run without it, and under the determinism contract."""

from __future__ import annotations

import itertools
import statistics
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from cityhall.models import DeviceKind
from simulators.engine import Simulation
from simulators.faults import FaultKind
from simulators.scenario import Plan
from simulators.weather import TainanWeather
from tests.simulators.conftest import plan_of

# value sets per device per instant, and a contact's events since the instant before
Samples = dict[str, dict[datetime, tuple[dict[str, float], list[tuple[datetime, dict[str, float]]]]]]


def samples(plan: Plan) -> Samples:
    """What every device samples at every instant, before reporting thins it (wire off)."""
    spec = plan.scenario.spec
    sim = Simulation(
        plan.devices, start=plan.start, step=spec.step, weather=TainanWeather(spec.seed), faults=plan.faults
    )
    out: Samples = defaultdict(dict)
    for tick in sim.ticks(plan.end):
        for device, values in tick.samples:
            out[device.code][tick.ts] = (values, list(device.events))
    return out


def series(data: Samples, code: str, key: str) -> list[tuple[datetime, float]]:
    """One quantity of one device in time order."""
    return [(ts, values[key]) for ts, (values, _) in sorted(data[code].items())]


NIGHT = """\
name: night
seed: 12
start: 2026-06-16T01:00:00+08:00
duration: 4h
step: 5s
buildings: [MZ-DORM]
device_kinds: [water_meter]
"""


def test_night_draws_give_zero_flow_between_them_and_the_register_counts_each_in_full(
    write_scenario: Callable[[str], Path],
) -> None:
    real = samples(plan_of(write_scenario(NIGHT + "realism: {dormitory: {bed_share: 0.95}}\n")))
    base = samples(plan_of(write_scenario(NIGHT)))
    assert {v for _, v in series(base, "MZ-DORM-WM-MAIN", "flow_m3h")} == {0.0}  # the cause: no realism
    flow = series(real, "MZ-DORM-WM-MAIN", "flow_m3h")
    volume = series(real, "MZ-DORM-WM-MAIN", "volume_m3")
    flowing = [v > 0 for _, v in flow]
    assert 0.05 < sum(flowing) / len(flowing) < 0.5  # mostly zero: toilets and taps, not a leak
    runs = [len(list(g)) for on, g in itertools.groupby(flowing) if on]
    assert len(runs) > 20  # a resident an hour or more
    assert 8 <= statistics.median(runs) <= 20  # each draw about a minute (12 samples of 5 s)
    drawn_m3 = volume[-1][1] - volume[0][1]
    integral_m3 = sum(v for _, v in flow[1:]) * 5 / 3600
    assert abs(drawn_m3 - integral_m3) < 0.03 * drawn_m3  # the register integrates the draws
    # Water heaters do not fill at night, and the register of a quiet meter stands still.
    assert {v for _, v in series(real, "MZ-DORM-WM-HW", "flow_m3h")} == {0.0}


def test_dormitory_rooms_run_warm_on_evenings_their_residents_leave_the_air_conditioning_off(
    write_scenario: Callable[[str], Path],
) -> None:
    text = """\
name: evenings
seed: 31
start: 2026-07-13T00:00:00+08:00
duration: 7d
step: 15m
buildings: [MZ-DORM]
device_kinds: [climate_sensor, air_conditioner]
realism: {{climate: {{}}, dormitory: {{bed_share: 1, ac_off_evening_share: {share}}}}}
"""
    warm = samples(plan_of(write_scenario(text.format(share=0.4))))
    cool = samples(plan_of(write_scenario(text.format(share=0))))
    rooms = [code for code in warm if "-CS-" in code and code[-3:].isdigit()]
    assert len(rooms) >= 4
    hot_evenings, ac_off_and_hot = 0, 0
    for sensor in rooms:
        ac = sensor.replace("-CS-", "-AC-")
        for day, group in itertools.groupby(series(warm, sensor, "temperature_c"), key=lambda p: p[0].date()):
            evening = [(ts, t) for ts, t in group if 20 <= ts.hour < 23]
            peak = max(t for _, t in evening)
            ac_on = [warm[ac][ts][0]["on_state"] for ts, _ in evening]
            if peak > 30:
                hot_evenings += 1
                ac_off_and_hot += not any(ac_on)
            assert max(cool[sensor][ts][0]["temperature_c"] for ts, _ in evening) < 28.5, (sensor, day)
    assert hot_evenings >= 4  # some evenings, not all: ~40 % of room-evenings
    assert hot_evenings < len(rooms) * 7
    assert ac_off_and_hot == hot_evenings  # hot because its air-conditioner reports off


def test_a_room_takes_its_time_to_cool_down(write_scenario: Callable[[str], Path]) -> None:
    text = """\
name: lag
seed: 2
start: 2026-07-13T06:00:00+08:00
duration: 4h
step: 1m
buildings: [YH-A]
device_kinds: [climate_sensor]
"""
    real = samples(plan_of(write_scenario(text + "realism: {climate: {temperature_lag_min: 40}}\n")))
    base = samples(plan_of(write_scenario(text)))

    def minutes_to_setpoint(data: Samples) -> float:
        # The air-conditioning starts at 07:00, when the first staff arrive.
        points = [(ts, t) for ts, t in series(data, "YH-A-4F-CS-01", "temperature_c") if ts.hour >= 7]
        return next((ts - points[0][0]).total_seconds() / 60 for ts, t in points if t < 27.0)

    assert minutes_to_setpoint(base) == 0  # the base model jumps to the set-point when the AC starts
    assert 20 <= minutes_to_setpoint(real) <= 120


def test_common_lighting_on_days_off_and_timers_add_to_the_lighting_meter(
    write_scenario: Callable[[str], Path],
) -> None:
    text = """\
name: lights
seed: 8
start: 2026-06-20T00:00:00+08:00   # a Saturday
duration: 1d
step: 15m
buildings: [YH-A]
device_kinds: [electricity_meter]
"""
    realism = (
        "realism:\n  lighting:\n    non_working_day_share: 0.4\n    timers:\n"
        "      - {devices: [YH-A-1F-EM-LT], hours: 18:00-22:00, share: 0.3}\n"
        "      - {devices: [YH-A-B1-EM-LT, YH-A-B2-EM-LT], hours: 22:00-06:00, share: 0.1}\n"
    )
    real = samples(plan_of(write_scenario(text + realism)))
    base = samples(plan_of(write_scenario(text)))
    plan = plan_of(write_scenario(text))
    rated = {d.code: d.rated_rate() for d in plan.devices}

    def share(data: Samples, code: str, hours: range) -> float:
        return statistics.mean(
            v / rated[code] for ts, v in series(data, code, "power_kw") if ts.hour in hours
        )

    lobby = "YH-A-1F-EM-LT"
    assert share(base, lobby, range(10, 17)) < 0.15  # the base model: night lighting all Saturday
    assert 0.38 < share(real, lobby, range(10, 17)) < 0.45
    assert share(real, lobby, range(19, 22)) - share(base, lobby, range(19, 22)) > 0.28  # the facade timer
    assert abs(share(real, lobby, range(2, 5)) - share(base, lobby, range(2, 5))) < 0.02
    for car_park in ("YH-A-B1-EM-LT", "YH-A-B2-EM-LT"):
        assert share(real, car_park, range(1, 5)) - share(base, car_park, range(1, 5)) > 0.09
    # Meters that are not lighting are left alone.
    assert series(real, "YH-A-EM-MAIN", "power_kw") == series(base, "YH-A-EM-MAIN", "power_kw")


REALISTIC_FAULTS = """\
name: contract
seed: 17
start: 2026-07-13T00:00:00+08:00
duration: 2d
step: 5m
buildings: [MZ-DORM]
realism: {climate: {}, dormitory: {ac_off_evening_share: 0.5}, contacts: {openings_per_h: 12}}
faults:
  - {kind: water_leak, device: MZ-DORM-WM-MAIN, start: 1d, end: 1d6h}
  - {kind: comfort_breach, device: MZ-DORM-5F-CS-501, start: 19h, end: 22h}
  - {kind: meter_offline, device: MZ-DORM-2F-CS-201, start: 10h, end: 12h}
  - {kind: door_open_while_cooling, device: MZ-DORM-2F-WC-201, start: 1d1h, end: 1d3h}
  - {kind: ac_left_on, device: MZ-DORM-3F-AC-312, start: 1d9h, end: 1d17h}
  - {kind: glitch, device: MZ-DORM-4F-CS-401, start: 1d3h, params: {quantity: humidity_pct, delta: 8}}
"""


def test_faults_never_shift_the_realism_stream(write_scenario: Callable[[str], Path]) -> None:
    """A faulty run and a fault-free run differ only where each fault acts, realism included."""
    path = write_scenario(REALISTIC_FAULTS)
    plan = plan_of(path)
    faulty, clean = samples(plan), samples(plan_of(path, without_faults=True))
    assert set(faulty) == set(clean)
    acting = {f.device.code: f for f in plan.faults}
    # An air-conditioner left on cools its room: the room's sensors follow from the fault's start on (and
    # warm back up slowly after it, the room's thermal mass).
    (left_on,) = [f for f in plan.faults if f.kind is FaultKind.AC_LEFT_ON]
    cooled = {
        d.code: left_on
        for d in plan.devices
        if d.space == left_on.device.space and d.kind is DeviceKind.CLIMATE_SENSOR
    }
    assert cooled
    for code, by_time in clean.items():
        fault = acting.get(code)
        for ts, (values, events) in by_time.items():
            if code in cooled and ts >= cooled[code].start:
                continue
            if fault is None:
                assert faulty[code][ts] == (values, events), (code, ts)
            elif not fault.active(ts):
                # A register integrates what the fault added, and keeps it: compare the rest.
                got, got_events = faulty[code][ts]
                assert _without_registers(got) == _without_registers(values), (code, ts)
                assert got_events == events, (code, ts)
    for code, fault in cooled.items():
        during = [ts for ts in clean[code] if fault.active(ts)]
        cooler = [faulty[code][ts][0]["temperature_c"] < clean[code][ts][0]["temperature_c"] for ts in during]
        assert sum(cooler) > len(during) / 2, code
    door = acting["MZ-DORM-2F-WC-201"]
    held = [faulty[door.device.code][ts] for ts in clean[door.device.code] if door.active(ts)]
    assert all(values == {"open_state": 1.0} for values, _ in held)
    # People still try the window while it is held open (the same draws); the wire leaves those out.
    assert [events for _, events in held] == [
        e for ts, (_, e) in clean[door.device.code].items() if door.active(ts)
    ]


def _without_registers(values: dict[str, float]) -> dict[str, float]:
    return {k: v for k, v in values.items() if k not in {"energy_kwh", "volume_m3"}}


def test_realism_draws_from_a_stream_of_its_own(write_scenario: Callable[[str], Path]) -> None:
    """The base models' two draws per sample are untouched: meters that realism leaves alone are equal."""
    with_realism = samples(plan_of(write_scenario(REALISTIC_FAULTS)))
    without = samples(plan_of(write_scenario(REALISTIC_FAULTS.replace("realism:", "# realism:"))))
    plan = plan_of(write_scenario(REALISTIC_FAULTS))
    untouched = [d.code for d in plan.devices if d.kind is DeviceKind.ELECTRICITY_METER]
    assert untouched
    for code in untouched:
        assert with_realism[code] == without[code], code
